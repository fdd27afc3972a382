"""A CDA R2 document opens as a readable page (header, narrative, images; no script),
its original stays downloadable, PDFs and images open inline and sandboxed, and a
message and its documents link to each other."""

from __future__ import annotations

import re

from tests.vault import corpus
from tests.vault.cda_samples import lettre_de_liaison_cda

from .conftest import PDF, Web


async def send_cda(web: Web) -> None:
    await web.send(subject="Lettre de liaison", headers={"Message-ID": "<cda-1@mss.test>"},
                   attachments=[("lettre.xml", "text/xml",
                                 lettre_de_liaison_cda(web.world.jeanne_ins)),
                                ("ordonnance.pdf", "application/pdf", PDF)])


async def document_ids(jeanne) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = await jeanne.get("/documents")
    return {title: ident for ident, title in
            re.findall(r'<a href="/documents/(\d+)">([^<]+)</a>', page.text)}


async def test_a_cda_renders_as_a_page_with_its_original_downloadable(web: Web, jeanne,
                                                                      alice) -> None:
    await send_cda(web)
    ids = await document_ids(jeanne)
    page = await jeanne.get(f"/documents/{ids['Lettre de liaison à la sortie']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script" not in csp and "default-src 'none'" in csp and "img-src 'self' data:" in csp
    text = page.text
    for shown in ("Lettre de liaison à la sortie", "Dr Alice MARTIN", "Jeanne DUPONT",
                  "Hôpital de démonstration — Cardiologie", "Normale", "15/01/2024 10:30",
                  "<strong>aiguë</strong>", "<th>Examen</th>", '<img src="data:image/png'):
        assert shown in text, shown
    assert "<script" not in text.replace("&lt;script", "") and "javascript:" not in text
    original = await jeanne.get(f"/documents/{ids['Lettre de liaison à la sortie']}/download")
    assert original.content == lettre_de_liaison_cda(web.world.jeanne_ins)
    assert original.headers["content-disposition"].startswith("attachment")
    # back to the message it came with, and the message links to both documents
    back = await jeanne.get(f"/documents/{ids['Lettre de liaison à la sortie']}/message")
    assert back.status_code == 303
    message = await jeanne.get(back.headers["location"])
    assert "Documents de ce message" in message.text
    for ident in ids.values():
        assert f'href="/documents/{ident}"' in message.text
    # a professional in care reads the same page, with no link to the patient's mailbox
    pro = await alice.get(f"/pro/documents/{ids['Lettre de liaison à la sortie']}")
    assert pro.status_code == 200 and "Dr Alice MARTIN" in pro.text
    assert "/messages/inbox/" not in pro.text


async def test_pdfs_open_inline_in_a_sandbox_and_a_cda_n1_offers_its_pdf(web: Web,
                                                                         jeanne) -> None:
    embedded = corpus.pdf_bytes("n1 body")
    await web.send(subject="CR", attachments=[
        ("cr.xml", "application/hl7-v3+xml",
         corpus.cda_n1_document("11488-4", "CR de consultation", embedded,
                                web.world.jeanne_ins)),
        ("ordonnance.pdf", "application/pdf", PDF)])
    ids = await document_ids(jeanne)
    pdf = await jeanne.get(f"/documents/{ids['ordonnance.pdf']}")
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "sandbox" in pdf.headers["content-security-policy"]
    page = await jeanne.get(f"/documents/{ids['CR de consultation']}")
    assert f'href="/documents/{ids["CR de consultation"]}/embedded"' in page.text
    body = await jeanne.get(f"/documents/{ids['CR de consultation']}/embedded")
    assert body.content == embedded and body.headers["content-type"] == "application/pdf"
    assert body.headers["content-disposition"].startswith("inline")
    assert "sandbox" in body.headers["content-security-policy"]
