"""A rendered CDA in a real Chromium (Debian's, driven by Playwright): the patient opens
her lettre de liaison; the page shows its header, sections, table and the attached ECG
image under the page's CSP; a screenshot is kept in test-artifacts/cda-document.png."""

from __future__ import annotations

import re

from tests.vault.cda_samples import lettre_de_liaison_cda

from .conftest import Web
from .test_browser import ARTIFACTS, base_url, chromium, login  # noqa: F401


async def test_a_cda_document_renders_in_chromium(web: Web, base_url: str) -> None:  # noqa: F811
    await web.send(subject="Lettre de liaison", attachments=[
        ("lettre.xml", "text/xml", lettre_de_liaison_cda(web.world.jeanne_ins))])
    async with chromium() as browser:
        page = await browser.page(1000)
        await login(page, base_url, web.world.jeanne, web.world.password)
        await page.wait_for_url(f"{base_url}/inbox")
        await page.goto(f"{base_url}/documents")
        await page.click("text=Lettre de liaison à la sortie")
        await page.wait_for_url(re.compile(r".*/documents/\d+$"))
        assert await page.inner_text("h1") == "Lettre de liaison à la sortie"
        header = await page.inner_text(".cda-header")
        assert "Dr Alice MARTIN — Hôpital de démonstration — Cardiologie" in header
        assert "Jeanne DUPONT" in header and "Normale" in header
        headings = await page.locator(".cda-body h2").all_inner_texts()
        assert headings == ["Motif d'hospitalisation", "Traitements à la sortie",
                            "Résultats d'examens"]
        assert await page.locator(".cda-body ol li").count() == 2
        assert await page.locator(".cda-body td").count() == 6
        # the attached image is drawn (decoded under the CSP) and the stylesheet applies
        image = page.locator(".cda-body img")
        assert await image.evaluate("img => img.complete && img.naturalWidth") == 8
        border = await page.locator(".cda-body th").first.evaluate(
            "th => getComputedStyle(th).borderTopStyle")
        assert border == "solid"
        assert await page.locator(".cda-body a, script").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        shot = await page.screenshot(path=str(ARTIFACTS / "cda-document.png"),
                                     full_page=True)
        assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
        assert browser.blocked == []  # nothing the page needs was refused by its CSP
