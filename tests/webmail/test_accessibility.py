"""Every page of the patient's and the professional's webmail passes axe-core in
Chromium with no serious or critical violation, in French and English, at desktop
(1280 px) and phone (390 px) widths, and never scrolls sideways (issue 21).

axe-core is the copy shipped by the `axe-playwright-python` package (a test extra); it is
injected with the page's CSP bypassed in this test only: the pages themselves keep
`default-src 'none'` (tests/webmail/test_security.py).
"""

from __future__ import annotations

from pathlib import Path

import axe_playwright_python
import pytest
from playwright.async_api import Browser

from .browser_pages import PAGES, WIDTHS, browser_context, chromium, filled_world  # noqa: F401
from .conftest import Web
from .test_browser import base_url  # noqa: F401

AXE_SCRIPT = (Path(axe_playwright_python.__file__).with_name("axe.min.js")).read_text()
BLOCKING = {"serious", "critical"}


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_every_page_passes_axe_at_both_widths(web: Web, base_url: str,  # noqa: F811
                                                    chromium: Browser, lang: str) -> None:  # noqa: F811
    links = await filled_world(web)
    problems: list[str] = []
    checked = 0
    for width in WIDTHS:
        contexts = {}
        try:
            for spec in PAGES:
                if spec.who not in contexts:
                    contexts[spec.who] = await browser_context(
                        chromium, web, base_url, spec.who, lang, width, bypass_csp=True)
                page = await contexts[spec.who].new_page()
                response = await page.goto(base_url + spec.path(links, web))
                assert response is not None
                where = f"{spec.name} {width}px {lang}"
                if response.status not in (200, 403):  # break-glass is a 403 page
                    problems.append(f"{where}: HTTP {response.status}")
                assert await page.evaluate("document.documentElement.lang") == lang
                await page.evaluate(AXE_SCRIPT)
                result = await page.evaluate(
                    "axe.run(document, {resultTypes: ['violations']})")
                for violation in result["violations"]:
                    if violation["impact"] in BLOCKING:
                        targets = [n["target"] for n in violation["nodes"]][:3]
                        problems.append(f"{where}: {violation['id']} ({violation['impact']})"
                                        f" {targets}")
                scroll = await page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{where}: scrolls sideways ({scroll} px wide)")
                checked += 1
                await page.close()
        finally:
            for context in contexts.values():
                await context.close()
    assert checked == len(PAGES) * len(WIDTHS)
    assert not problems, "\n".join(problems)
