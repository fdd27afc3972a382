"""The record of what the main pages look like: a Chromium screenshot of each at 1280 and
390 px wide (tests/webmail/screenshots/, PNG) and its structure — landmarks, headings
and form controls with their accessible names, read from Chromium's accessibility tree —
in tests/webmail/page_structure.json (issue 21).

Pages are compared by structure, not pixels: each must have the recorded structure, the
same at both widths (the phone layout hides nothing), and its screenshot the recorded
width. A change to a page is recorded again with

    MSS_RECORD_PAGES=1 python -m pytest tests/webmail/test_page_structure.py

which rewrites the JSON and the PNGs; review both in the diff.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path

from playwright.async_api import Browser, Page

from .browser_pages import PAGES, WIDTHS, browser_context, chromium, filled_world  # noqa: F401
from .conftest import Web
from .test_browser import ARTIFACTS, base_url  # noqa: F401

HERE = Path(__file__).parent
SHOTS = HERE / "screenshots"
RECORD = HERE / "page_structure.json"
RECORDING = bool(os.environ.get("MSS_RECORD_PAGES"))
MAIN_PAGES = ("login", "inbox", "conversation", "message", "documents", "cda-document",
              "traces", "settings", "pro-home", "pro-patient", "pro-documents", "pro-write-patient",
              "pro-end")
KEPT = {"banner", "navigation", "main", "contentinfo", "region", "article", "search",
        "heading", "textbox", "searchbox", "button", "combobox", "checkbox", "radio",
        "dialog", "alert", "status"}
NODE = re.compile(r'^(?P<indent>\s*)- (?P<quote>\'?)(?P<role>[a-z]+)'
                  r'(?: "(?P<name>(?:[^"\\]|\\.)*)")?(?P<level> \[level=\d\])?')


def structure_of(snapshot: str) -> list[str]:
    """Landmarks, headings and controls of an ARIA snapshot, indented by their nesting
    among the kept nodes."""
    kept: list[str] = []
    stack: list[int] = []  # indents of the kept ancestors
    for line in snapshot.splitlines():
        found = NODE.match(line)
        if not found:
            continue
        indent = len(found["indent"])
        while stack and stack[-1] >= indent:
            stack.pop()
        if found["role"] not in KEPT:
            continue
        name = f' "{found["name"]}"' if found["name"] else ""
        kept.append("  " * len(stack) + found["role"] + name + (found["level"] or ""))
        stack.append(indent)
    return kept


def png_width(data: bytes) -> int:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", data[16:20])[0]


async def _shoot(page: Page, name: str, width: int) -> tuple[list[str], bytes]:
    snapshot = await page.locator("body").aria_snapshot()
    shot = await page.screenshot(full_page=True)
    target = SHOTS if RECORDING else ARTIFACTS / "pages"
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{name}-{width}.png").write_bytes(shot)
    return structure_of(snapshot), shot


async def test_main_pages_keep_their_recorded_structure(web: Web, base_url: str,  # noqa: F811
                                                       chromium: Browser) -> None:  # noqa: F811
    links = await filled_world(web)
    record = {} if RECORDING else json.loads(RECORD.read_text())
    seen: dict[str, list[str]] = {}
    differences: list[str] = []
    for spec in (p for p in PAGES if p.name in MAIN_PAGES):
        for width in WIDTHS:
            context = await browser_context(chromium, web, base_url, spec.who, "fr", width)
            try:
                page = await context.new_page()
                await page.goto(base_url + spec.path(links, web))
                structure, shot = await _shoot(page, spec.name, width)
            finally:
                await context.close()
            assert png_width(shot) == width
            if width == WIDTHS[0]:
                seen[spec.name] = structure
            elif structure != seen[spec.name]:
                differences.append(f"{spec.name}: {width} px differs from {WIDTHS[0]} px")
            recorded = SHOTS / f"{spec.name}-{width}.png"
            if not RECORDING:
                assert recorded.exists(), f"no recorded screenshot {recorded.name}"
                assert png_width(recorded.read_bytes()) == width
    if RECORDING:
        RECORD.write_text(json.dumps(seen, indent=1, ensure_ascii=False) + "\n")
        record = seen
    for name in MAIN_PAGES:
        if seen.get(name) != record.get(name):
            differences.append(f"{name}: structure differs from page_structure.json "
                               f"(now {seen.get(name)})")
    assert not differences, "\n".join(differences) + "\n(re-record: see the module docstring)"


def test_structure_reads_landmarks_headings_and_controls() -> None:
    snapshot = """- banner:
  - link "Messagerie santé":
    - /url: /
  - navigation "Menu principal":
    - link "Messages"
- main:
  - heading "Connexion" [level=1]
  - text: Identifiant
  - textbox "Identifiant"
  - table:
    - button "Lire"
  - 'button "Re: envoyer"'
"""
    assert structure_of(snapshot) == [
        "banner", '  navigation "Menu principal"', "main", '  heading "Connexion" [level=1]',
        '  textbox "Identifiant"', '  button "Lire"', '  button "Re: envoyer"']
