"""Search over her messages and documents (words, sender, date range) served from the
index — FTS5 on SQLite, tsvector/GIN on PostgreSQL — over HTTP against a real uvicorn
and in Chromium; only her own, accents and case folded, every search traced (issue 21).
The < 200 ms with 10,000 messages is measured by bench/webmail_search.py."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import async_playwright

from mss.clock import ManualClock
from mss.pipeline.message_search import folded, message_text
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction

from .conftest import PDF, Web
from .test_browser import CHROMIUM_ARGS, base_url, login  # noqa: F401
from .test_patient_mail import real_client, she  # noqa: F401


def hits(html: str) -> list[str]:
    return re.findall(r'href="(/messages/(?:inbox|sent|trash)/\d+)"', html)


def test_text_is_folded_the_same_way_for_index_and_query() -> None:
    assert folded("Résultats d'ÉCHOGRAPHIE — cœur") == "resultats d echographie coeur"
    raw = (b"From: Dr Alice MARTIN <a@x.test>\r\nSubject: =?utf-8?q?Bilan_r=C3=A9nal?=\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Cr&eacute;atinine <b>normale</b>"
           b"</p><script>x</script>")
    sender, subject, body = message_text(raw)
    assert sender == "dr alice martin a x test" and subject == "bilan renal"
    assert "creatinine normale" in body


async def test_search_by_words_sender_and_dates(web: Web, clock: ManualClock,
                                                base_url: str) -> None:  # noqa: F811
    await web.send(subject="Résultats d'échographie", body="Le cœur est normal.")
    await web.send(principal=web.bruno, mail_from=web.world.bruno, subject="Ordonnance",
                   body="Échographie de contrôle dans un mois.")
    await web.send(subject="Compte rendu", body="Rien à signaler.",
                   attachments=[("radiographie thorax.pdf", "application/pdf", PDF)])
    await web.send(to=web.world.paul, subject="Échographie de Paul", body="Pas pour elle.")
    clock.advance(timedelta(days=40))
    await web.send(subject="Rappel", body="Une nouvelle échographie est prévue.")
    async with await real_client(web, base_url, _jeanne(web)) as she:  # noqa: F811 (after 40 days)
        found = await she.get("/search", params={"q": "ECHOGRAPH"})
        assert found.status_code == 200
        assert len(hits(found.text)) == 3  # accents, case and prefix folded; not Paul's
        assert "Échographie de Paul" not in found.text
        by_bruno = await she.get("/search", params={"q": "echographie", "sender": "petit"})
        assert len(hits(by_bruno.text)) == 1 and "Ordonnance" in by_bruno.text
        today = clock.now().astimezone().date()
        recent = await she.get("/search", params={"q": "echographie",
                                                  "since": today.isoformat()})
        assert len(hits(recent.text)) == 1 and "Rappel" in recent.text
        older = await she.get("/search", params={
            "q": "echographie", "until": (today - timedelta(days=30)).isoformat()})
        assert len(hits(older.text)) == 2 and "Rappel" not in older.text
        body_word = await she.get("/search", params={"q": "coeur normal"})
        assert len(hits(body_word.text)) == 1
        attached = await she.get("/search", params={"q": "radiographie"})
        assert len(hits(attached.text)) == 1  # the attachment's name is indexed
        assert re.search(r'href="/documents/\d+"', attached.text)  # and the document too
        assert web.world.alice not in found.text  # names, never addresses
        empty = await she.get("/search")
        assert empty.status_code == 200 and "found-messages" not in empty.text
    async with web.store.reading() as session:
        events = await events_for_subject(session, web.world.jeanne_ins)
    searched = [e.detail for e in events if e.action == AuditAction.MESSAGE_READ
                and "list=search" in e.detail]
    assert len(searched) == 6 and "echograph" not in " ".join(searched).lower()


async def test_trashed_and_sent_messages_are_found_too(web: Web, she) -> None:  # noqa: F811
    await web.send(subject="Convocation", body="Venez à jeun.")
    found = await she.get("/search", params={"q": "jeun"})
    (link,) = hits(found.text)
    message = await she.get(link)
    token = re.search(r'name="csrf" value="([^"]+)"', message.text).group(1)
    await she.post(f"{link}/delete", data={"csrf": token})
    again = await she.get("/search", params={"q": "jeun"})
    assert len(hits(again.text)) == 1 and "/messages/trash/" in hits(again.text)[0]


def _jeanne(web: Web):
    from .conftest import patient

    return patient(web)


async def test_search_in_chromium(web: Web, base_url: str) -> None:  # noqa: F811
    await web.send(subject="Bilan sanguin", body="Votre cholestérol est un peu élevé.")
    await web.send(subject="Vaccin", body="Rappel de vaccination.")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 800})
            await login(page, base_url, web.world.jeanne, web.world.password)
            await page.wait_for_url(f"{base_url}/inbox")
            await page.click("nav >> text=Rechercher")
            await page.get_by_label("Mots (objet, texte, nom de fichier)").fill("cholesterol")
            await page.get_by_label("Expéditeur").fill("Martin")
            await page.click("form[role=search] button")
            await page.wait_for_url(re.compile(r".*/search\?q=cholesterol.*"))
            results = page.locator("#found-messages ~ ul li")
            assert await results.count() == 1
            assert "Bilan sanguin" in await results.inner_text()
            await results.locator("a").click()
            assert "cholestérol" in await page.inner_text("article")
        finally:
            await browser.close()


async def test_the_background_pass_indexes_patients_ahead_of_a_search(web: Web) -> None:
    from mss.pipeline.message_search import SearchIndexer, catch_up

    await web.send(subject="Indexé d'avance", body="Sans attendre la recherche.")
    await web.send(to=web.world.paul, subject="Pour Paul")
    indexer = SearchIndexer(web.store)
    await indexer.start()
    try:
        await indexer.passed.wait()
    finally:
        await indexer.stop()
    mailbox_id = await web.store.mail.mailboxes.id_of(web.world.jeanne)
    assert await catch_up(web.store, mailbox_id, web.world.jeanne_ins) == 0  # all done
    paul = await web.store.mail.mailboxes.id_of(web.world.paul)
    assert await catch_up(web.store, paul, web.world.paul_ins) == 0
