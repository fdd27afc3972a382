"""Reading (seen, traced, sanitised, attachments, XDM prefix) and replying through the
pipeline, with refusals kept as not sent (issue 8)."""

from __future__ import annotations

import re

from mss.directory.mailbox_accounts import (
    ProfessionalIdentity,
    create_org_mailbox,
    create_per_mailbox,
)
from mss.directory.org_members import set_org_member
from mss.directory.pharmacies import record_dispensation
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction

from .conftest import PDF, Web, csrf_of


def conversation_link(html: str) -> str:
    return "/conversations/" + html.split('href="/conversations/')[1].split('"')[0]


def message_links(html: str) -> list[str]:
    return re.findall(r'href="(/messages/(?:inbox|sent)/\d+)"', html)


async def test_reading_marks_seen_and_is_traced(web: Web, jeanne) -> None:
    await web.send(subject="XDM/1.0/DDM+Compte rendu DUPONT Jeanne 19850512",
                   body="Votre compte rendu est prêt.")
    conversation = await jeanne.get(conversation_link((await jeanne.get("/inbox")).text))
    assert "XDM/1.0/DDM+" not in conversation.text
    (link,) = message_links(conversation.text)
    page = await jeanne.get(link)
    assert page.status_code == 200
    assert "Votre compte rendu est prêt." in page.text
    assert "Compte rendu DUPONT Jeanne" in page.text and "XDM/1.0/DDM+" not in page.text
    assert "non lu" not in (await jeanne.get("/inbox")).text
    async with web.store.reading() as session:
        events = await events_for_subject(session, web.world.jeanne_ins)
    read = [e for e in events if e.action == AuditAction.MESSAGE_READ]
    assert read and read[0].principal == f"patient:{web.world.jeanne_ins}"


async def test_html_is_sanitised(web: Web, jeanne) -> None:
    html = ('<p onclick="x()">Bonjour <b>Jeanne</b></p><script>alert(1)</script>'
            '<img src="https://tracker.example/p.gif"><form action="https://evil"><input>'
            '</form><a href="javascript:alert(1)">lien</a><style>@import url(x)</style>'
            '<p style="background:url(https://x)">s</p>')
    await web.send(subject="HTML", body="", html=html)
    # a text part and an HTML part: the text one is shown; send HTML only to test it
    from email.message import EmailMessage

    from mss.pipeline.accept import Submission
    from mss.policy import Channel
    message = EmailMessage()
    message["From"] = web.world.alice
    message["To"] = web.world.jeanne
    message["Subject"] = "HTML seul"
    message.set_content(html, subtype="html")
    await web.pipeline.accept(Submission(web.world.alice, [web.world.jeanne],
                                         message.as_bytes(), Channel.SUBMISSION, web.alice))
    conversation = await jeanne.get(conversation_link((await jeanne.get("/inbox")).text))
    page = await jeanne.get(message_links(conversation.text)[0])
    body = page.text.split('class="html">')[1]
    assert "<b>Jeanne</b>" in body
    for bad in ("<script", "onclick", "<img", "tracker.example", "<form", "javascript:",
                "<style", "style=", "@import"):
        assert bad not in body


async def test_attachments_are_listed_and_downloadable(web: Web, jeanne) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    conversation = await jeanne.get(conversation_link((await jeanne.get("/inbox")).text))
    page = await jeanne.get(message_links(conversation.text)[0])
    assert "ordonnance.pdf" in page.text
    link = re.search(r'href="(/messages/inbox/\d+/attachments/\d+)"', page.text).group(1)
    download = await jeanne.get(link)
    assert download.status_code == 200 and download.content == PDF
    assert "attachment" in download.headers["content-disposition"]
    assert (await jeanne.get(link[:-1] + "9")).status_code == 404


async def test_reply_goes_through_the_pipeline(web: Web, jeanne) -> None:
    await web.send(subject="Question")
    conversation = await jeanne.get(conversation_link((await jeanne.get("/inbox")).text))
    action = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', conversation.text).group(1)
    response = await jeanne.post(action, data={"csrf": csrf_of(conversation.text),
                                               "subject": "Re: Question", "body": "Merci !"})
    assert response.status_code == 303
    async with web.store.reading() as session:
        from mss.store.mailboxes import find_mailbox
        mailbox = await find_mailbox(session, web.world.alice)
        folder = await web.store.mail.folders.named(session, mailbox.id, "INBOX")
        subjects = [e.subject for e in await web.store.mail.reads.entries(session, folder.id)]
    assert subjects == ["Re: Question"]
    again = await jeanne.get(conversation_link((await jeanne.get("/inbox")).text))
    assert "Vous" in again.text and len(message_links(again.text)) == 2


async def test_refused_reply_is_shown_with_its_reason_and_kept(web: Web, jeanne) -> None:
    await web.send(subject="Question")
    conversation = await jeanne.get(conversation_link((await jeanne.get("/inbox")).text))
    action = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', conversation.text).group(1)
    await web.send(subject="[FIN]")  # the professional ends it while the page is open
    response = await jeanne.post(action, data={"csrf": csrf_of(conversation.text),
                                               "subject": "Re", "body": "Encore une question"})
    assert response.status_code == 422
    assert "Message non envoyé" in response.text and "P2" in response.text
    kept = await jeanne.get("/not-sent")
    assert "Dr Alice MARTIN" in kept.text and "Re" in kept.text


async def test_new_message_only_to_allowed_contacts_with_pharmacy_exception(
        web: Web, jeanne) -> None:
    page = await jeanne.get("/write")
    assert "vous ne pouvez pas écrire" in page.text
    pharmacist = ProfessionalIdentity("10000000108", "LEROY", "Claire", profession_code="21")
    await create_per_mailbox(web.store, address=f"claire.leroy@{web.world.domain}",
                             professional=pharmacist)
    pharmacy = f"pharmacie@{web.world.domain}"
    await create_org_mailbox(web.store, address=pharmacy, display_name="Pharmacie du Centre")
    await set_org_member(web.store, pharmacy, pharmacist.ident, frozenset())
    await record_dispensation(web.store, pharmacy, web.world.jeanne_ins,
                              web.store.clock.now().date())
    page = await jeanne.get("/write")
    assert "Pharmacie du Centre" in page.text
    key = re.search(r'<option value="([0-9a-f]+)">', page.text).group(1)
    sent = await jeanne.post("/write", data={"csrf": csrf_of(page.text), "to": key,
                                             "subject": "Renouvellement", "body": "Bonjour"})
    assert sent.status_code == 303
    forged = await jeanne.post("/write", data={"csrf": csrf_of(page.text), "to": "0" * 20,
                                               "subject": "x", "body": "x"})
    assert forged.status_code == 422
