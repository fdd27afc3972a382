"""The patient's webmail over HTTP against a real uvicorn on 127.0.0.1 (httpx): replies
carry In-Reply-To and References, conversations are threaded by those fields (not by
subject), opening a conversation marks it read, mark as unread, the Sent view (a
message to the pharmacy included), attachment preview and download by original name,
the honest "not sent" page, confirmation before closing, a closed space explained at
login; every access traced (issue 21, Patient webmail)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email import message_from_bytes

import httpx
import pytest

from mss.directory.mailbox_accounts import (
    ProfessionalIdentity,
    create_org_mailbox,
    create_per_mailbox,
)
from mss.directory.org_members import set_org_member
from mss.directory.patients import find_patient
from mss.directory.pharmacies import record_dispensation
from mss.directory.web_sessions import open_session
from mss.identity import PatientSpaceState, Principal
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from mss.webmail.web_auth import SESSION_COOKIE
from tests.vault.cda_samples import lettre_de_liaison_cda

from .conftest import PDF, Web, csrf_of, patient
from .test_browser import base_url  # noqa: F401

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


async def real_client(web: Web, url: str, principal: Principal) -> httpx.AsyncClient:
    session = await open_session(web.store, principal)
    client = httpx.AsyncClient(base_url=url, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, session.token)
    return client


@pytest.fixture
async def she(web: Web, base_url: str) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with await real_client(web, base_url, patient(web)) as client:
        yield client


def conversation_link(html: str) -> str:
    return "/conversations/" + html.split('href="/conversations/')[1].split('"')[0]


async def inbox_of(web: Web, address: str) -> list[bytes]:
    mailbox_id = await web.store.mail.mailboxes.id_of(address)
    assert mailbox_id is not None
    async with web.store.reading() as session:
        folder = await web.store.mail.folders.named(session, mailbox_id, "INBOX")
        entries = await web.store.mail.reads.entries(session, folder.id)
    return [await web.store.mail.contents.read_raw(e.mailbox_id, e.blob_key) for e in entries]


async def traced(web: Web, action: AuditAction) -> list[str]:
    async with web.store.reading() as session:
        events = await events_for_subject(session, web.world.jeanne_ins)
    return [e.detail for e in events if e.action == action]


async def test_a_reply_carries_in_reply_to_and_references(web: Web, she) -> None:
    await web.send(subject="Résultats", body="Vos résultats.",
                   headers={"Message-ID": "<r2@hopital.test>",
                            "References": "<r0@hopital.test> <r1@hopital.test>",
                            "In-Reply-To": "<r1@hopital.test>"})
    page = await she.get(conversation_link((await she.get("/inbox")).text))
    form = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', page.text).group(1)
    sent = await she.post(form, data={"csrf": csrf_of(page.text), "subject": "Re: Résultats",
                                      "body": "Merci docteur", "in_reply_to": "1"})
    assert sent.status_code == 303
    (received,) = [m for m in map(message_from_bytes, await inbox_of(web, web.world.alice))
                   if "Merci docteur" in str(m.get_payload())]
    assert received["In-Reply-To"] == "<r2@hopital.test>"
    assert received["References"].split() == ["<r0@hopital.test>", "<r1@hopital.test>",
                                              "<r2@hopital.test>"]


async def test_conversations_are_threaded_by_headers_not_by_subject(web: Web, she) -> None:
    await web.send(subject="Bilan", body="Premier bilan.",
                   headers={"Message-ID": "<a1@hopital.test>"})
    await web.send(subject="Bilan", body="Autre bilan, sans lien.",
                   headers={"Message-ID": "<b1@hopital.test>"})
    await web.send(subject="Précision", body="Suite du premier.",
                   headers={"Message-ID": "<a2@hopital.test>",
                            "In-Reply-To": "<a1@hopital.test>",
                            "References": "<a1@hopital.test>"})
    page = await she.get(conversation_link((await she.get("/inbox")).text))
    threads = page.text.split('<section class="thread card"')[1:]
    assert len(threads) == 2  # same subject twice, yet two threads; a new subject joins
    first = next(t for t in threads if "Premier bilan." in t)
    assert "Suite du premier." in first and "Autre bilan" not in first


async def test_opening_a_conversation_marks_it_read_and_unread_counts(web: Web, she) -> None:
    await web.send(subject="Un", body="Un.")
    await web.send(subject="Deux", body="Deux.")
    await web.send(principal=web.bruno, mail_from=web.world.bruno, subject="Trois")
    inbox = await she.get("/inbox")
    assert inbox.text.count("non lu(s)") == 2
    assert re.search(r'class="badge">2 non lu', inbox.text)
    alice_link = re.search(r'href="(/conversations/[0-9a-f]+)">\s*<span class="name">'
                           r'Dr Alice MARTIN', inbox.text).group(1)
    page = await she.get(alice_link)
    assert "Un." in page.text and "Deux." in page.text
    inbox = await she.get("/inbox")
    assert inbox.text.count("non lu(s)") == 1 and re.search(r'class="badge">1 non lu', inbox.text)
    assert any("conversation=" in d for d in await traced(web, AuditAction.MESSAGE_READ))
    # mark one as unread again: the count comes back, the change is traced
    link = re.findall(r'href="(/messages/inbox/\d+)"', page.text)[0]
    message = await she.get(link)
    marked = await she.post(f"{link}/unread", data={"csrf": csrf_of(message.text)})
    assert marked.status_code == 303
    assert re.search(r'class="badge">1 non lu', (await she.get("/inbox")).text)
    assert (await she.get("/inbox")).text.count("non lu(s)") == 2
    assert any("-\\Seen" in d for d in await traced(web, AuditAction.MESSAGE_FLAGS_CHANGED))
    forged = await she.post("/messages/inbox/999/unread", data={"csrf": csrf_of(message.text)})
    assert forged.status_code == 404


async def test_the_sent_view_lists_every_message_including_the_pharmacy(web: Web,
                                                                        she) -> None:
    await web.send(subject="Question ?")
    page = await she.get(conversation_link((await she.get("/inbox")).text))
    form = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', page.text).group(1)
    await she.post(form, data={"csrf": csrf_of(page.text), "subject": "Réponse au docteur",
                               "body": "Oui"})
    pharmacist = ProfessionalIdentity("10000000108", "LEROY", "Claire", profession_code="21")
    await create_per_mailbox(web.store, address=f"claire.leroy@{web.world.domain}",
                             professional=pharmacist)
    pharmacy = f"pharmacie@{web.world.domain}"
    await create_org_mailbox(web.store, address=pharmacy, display_name="Pharmacie du Centre")
    await set_org_member(web.store, pharmacy, pharmacist.ident, frozenset())
    await record_dispensation(web.store, pharmacy, web.world.jeanne_ins,
                              web.store.clock.now().date())
    write = await she.get("/write")
    key = re.search(r'<option value="([0-9a-f]+)">Pharmacie du Centre', write.text)
    assert key is not None
    await she.post("/write", data={"csrf": csrf_of(write.text), "to": key.group(1),
                                   "subject": "Renouvellement", "body": "Mon ordonnance"})
    listing = await she.get("/sent")
    assert listing.status_code == 200
    assert "Renouvellement" in listing.text and "Réponse au docteur" in listing.text
    assert "Pharmacie du Centre" in listing.text and "Dr Alice MARTIN" in listing.text
    assert pharmacy not in listing.text and web.world.alice not in listing.text
    sent = re.findall(r'href="(/messages/sent/\d+)"', listing.text)
    assert len(sent) == 2
    opened = await she.get(sent[0])
    assert "Mon ordonnance" in opened.text
    assert any("list=Sent" in d for d in await traced(web, AuditAction.MESSAGE_READ))


async def test_attachments_preview_inline_and_download_by_their_name(web: Web, she) -> None:
    await web.send(subject="Pièces", attachments=[
        ("ordonnance signée.pdf", "application/pdf", PDF),
        ("électrocardiogramme.png", "image/png", PNG),
        ("lettre.xml", "text/xml", lettre_de_liaison_cda(web.world.jeanne_ins))])
    page = await she.get(conversation_link((await she.get("/inbox")).text))
    message = await she.get(re.findall(r'href="(/messages/inbox/\d+)"', page.text)[0])
    previews = re.findall(r'href="(/messages/inbox/\d+/attachments/\d+)/preview"',
                          message.text)
    assert len(previews) == 3
    pdf, png, cda = previews
    shown = await she.get(f"{pdf}/preview")
    assert '<iframe class="preview-pdf"' in shown.text
    assert "frame-src 'self'" in shown.headers["content-security-policy"]
    inline = await she.get(f"{pdf}/inline")
    assert inline.content == PDF and inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;")
    assert inline.headers["content-security-policy"] == ("default-src 'none'; "
                                                          "frame-ancestors 'self'")
    assert inline.headers["x-content-type-options"] == "nosniff"
    download = await she.get(pdf)
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''ordonnance%20sign%C3%A9e.pdf" in disposition  # RFC 6266
    assert "frame-ancestors" not in download.headers["content-security-policy"]
    assert "x-frame-options" in download.headers and download.headers["x-frame-options"] == "DENY"
    image = await she.get(f"{png}/preview")
    assert re.search(r'<img class="preview-image" src="[^"]+/inline"', image.text)
    png_inline = await she.get(f"{png}/inline")
    assert png_inline.content == PNG and "sandbox" in png_inline.headers[
        "content-security-policy"]
    letter = await she.get(f"{cda}/preview")
    assert "Lettre de liaison à la sortie" in letter.text and "cda-body" in letter.text
    details = await traced(web, AuditAction.MESSAGE_READ)
    assert any(re.search(r"attachment=\d+ preview", d) for d in details)
    assert any(re.search(r"attachment=\d+ download", d) for d in details)
    assert (await she.get("/messages/inbox/1/attachments/9/preview")).status_code == 404


async def test_a_refused_reply_is_really_kept_and_a_forged_one_promises_nothing(
        web: Web, she) -> None:
    await web.send(subject="Avant la fin")
    page = await she.get(conversation_link((await she.get("/inbox")).text))
    form = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', page.text).group(1)
    await web.send(subject="[FIN]")
    refused = await she.post(form, data={"csrf": csrf_of(page.text), "subject": "Re",
                                         "body": "Texte à garder"})
    assert refused.status_code == 422 and "conservé dans « Non envoyés »" in refused.text
    kept = await she.get("/not-sent")
    draft = re.search(r'href="(/messages/drafts/\d+)"', kept.text).group(1)
    assert "Texte à garder" in (await she.get(draft)).text
    forged = await she.post("/write", data={"csrf": csrf_of(page.text), "to": "0" * 20,
                                            "subject": "x", "body": "perdu"})
    assert forged.status_code == 422
    assert "Non envoyés »" not in forged.text and "ni conservé" in forged.text


async def test_closing_asks_first_and_a_closed_space_explains_itself(web: Web, she) -> None:
    settings = await she.get("/settings")
    asked = await she.post("/settings", data={"csrf": csrf_of(settings.text),
                                              "action": "state", "state": "closed"})
    assert asked.status_code == 200 and "Clôturer votre espace ?" in asked.text
    state = (await find_patient(web.store, web.world.jeanne_ins)).state
    assert state is PatientSpaceState.ACTIVE
    done = await she.post("/settings", data={"csrf": csrf_of(settings.text),
                                             "action": "state", "state": "closed",
                                             "confirmed": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert (await she.get("/inbox")).status_code == 303  # her session ended with it
    assert (await find_patient(web.store, web.world.jeanne_ins)).state is \
        PatientSpaceState.CLOSED
    async with httpx.AsyncClient(base_url=str(she.base_url)) as anonymous:
        login = await anonymous.get("/login")
        closed = await anonymous.post("/login", data={
            "csrf": csrf_of(login.text), "login": web.world.jeanne,
            "password": web.world.password})
        assert closed.status_code == 403
        assert "Votre espace de messagerie est clôturé" in closed.text
        assert "Identifiants incorrects" not in closed.text
        wrong = await anonymous.post("/login", data={
            "csrf": csrf_of(login.text), "login": web.world.jeanne, "password": "wrong"})
        assert wrong.status_code == 401 and "clôturé" not in wrong.text  # nothing told
