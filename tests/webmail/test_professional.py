"""Professional pages: conversations, end (same effect as [FIN]), reopen by writing,
write by INS with attachments, ORG mailbox as member (issue 8)."""

from __future__ import annotations

import re

from mss.policy import ConversationStatus

from .conftest import PDF, Web, csrf_of


async def test_write_by_ins_with_attachment_then_end_then_reopen(web: Web, alice) -> None:
    page = await alice.get("/pro/write")
    response = await alice.post(
        "/pro/write",
        data={"csrf": csrf_of(page.text), "ins": web.world.jeanne_ins, "confirm_name": "1",
              "subject": "Ordonnance", "body": "Voici votre ordonnance."},
        files={"files": ("ordonnance.pdf", PDF, "application/pdf")})
    assert response.status_code == 303
    home = await alice.get("/pro")
    assert "Jeanne DUPONT" in home.text and "Échanges ouverts" in home.text
    patient = await alice.get(f"/pro/patients/{web.world.jeanne_ins}")
    assert "Mettre fin aux échanges" in patient.text
    asked = await alice.post(f"/pro/patients/{web.world.jeanne_ins}/end",
                             data={"csrf": csrf_of(patient.text)})
    assert asked.status_code == 200 and "Confirmer la fin des échanges" in asked.text
    conversation = await web.context.conversations.find(web.world.alice, web.world.jeanne)
    assert conversation is not None and conversation.is_open  # nothing ended unconfirmed
    ended = await alice.post(f"/pro/patients/{web.world.jeanne_ins}/end",
                             data={"csrf": csrf_of(patient.text), "confirm": "1"})
    assert ended.status_code == 303
    conversation = await web.context.conversations.find(web.world.alice, web.world.jeanne)
    assert conversation is not None and conversation.status is ConversationStatus.ENDED
    page = await alice.get(f"/pro/patients/{web.world.jeanne_ins}")
    assert "Échanges terminés" in page.text
    write = await alice.get("/pro/write")
    await alice.post("/pro/write", data={"csrf": csrf_of(write.text), "confirm_name": "1",
                                         "ins": web.world.jeanne_ins, "subject": "Suite",
                                         "body": "Je reviens vers vous."})
    conversation = await web.context.conversations.find(web.world.alice, web.world.jeanne)
    assert conversation is not None and conversation.status is ConversationStatus.OPEN


async def test_end_without_csrf_is_refused(web: Web, alice) -> None:
    await web.send()
    response = await alice.post(f"/pro/patients/{web.world.jeanne_ins}/end", data={})
    assert response.status_code == 403
    conversation = await web.context.conversations.find(web.world.alice, web.world.jeanne)
    assert conversation is not None and conversation.is_open


async def test_invalid_ins_and_refused_send_are_shown(web: Web, alice) -> None:
    page = await alice.get("/pro/write")
    bad = await alice.post("/pro/write", data={"csrf": csrf_of(page.text), "ins": "123",
                                               "subject": "x", "body": "x"})
    assert bad.status_code == 422 and "INS invalide" in bad.text
    unknown = await alice.post("/pro/write", data={"csrf": csrf_of(page.text),
                                                   "ins": "185077512345608", "subject": "x",
                                                   "body": "x"})
    assert unknown.status_code == 422 and "5.1.1" not in unknown.text
    assert "class=\"error\"" in unknown.text


async def test_professional_reads_patient_reply(web: Web, alice, jeanne) -> None:
    await web.send(subject="Question")
    inbox = await jeanne.get("/inbox")
    conversation = await jeanne.get(
        "/conversations/" + inbox.text.split('href="/conversations/')[1].split('"')[0])
    action = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', conversation.text).group(1)
    await jeanne.post(action, data={"csrf": csrf_of(conversation.text), "subject": "Réponse",
                                    "body": "Voici ma réponse."})
    page = await alice.get(f"/pro/patients/{web.world.jeanne_ins}")
    assert "1 non lu" not in page.text  # unread counts are on the list page
    home = await alice.get("/pro")
    assert "1 non lu(s)" in home.text
    link = re.search(r'href="(/pro/messages/inbox/\d+)"', page.text).group(1)
    message = await alice.get(link)
    assert "Voici ma réponse." in message.text


async def test_org_member_without_send_as_cannot_end(web: Web) -> None:
    from mss.directory.web_sessions import open_session
    from mss.identity import Principal, PrincipalKind
    from mss.webmail.web_auth import SESSION_COOKIE

    cardiology_alice = Principal(PrincipalKind.PROFESSIONAL, web.world.alice_rpps,
                                 "Dr Alice MARTIN", web.world.cardiology)
    await web.send(principal=cardiology_alice, mail_from=web.world.cardiology)
    bruno = Principal(PrincipalKind.PROFESSIONAL, web.world.bruno_rpps, "Bruno PETIT",
                      web.world.cardiology)
    session = await open_session(web.store, bruno)
    async with web.client() as client:
        client.cookies.set(SESSION_COOKIE, session.token)
        page = await client.get(f"/pro/patients/{web.world.jeanne_ins}")
        assert "Jeanne DUPONT" in (await client.get("/pro")).text
        refused = await client.post(f"/pro/patients/{web.world.jeanne_ins}/end",
                                    data={"csrf": csrf_of(page.text), "confirm": "1"})
        assert refused.status_code == 403


async def test_patient_page_shows_state_and_the_documents_the_matrix_opens(
        web: Web, alice, bruno) -> None:
    await web.send(subject="Ordonnance", attachments=[("ordonnance.pdf", "application/pdf",
                                                       PDF)])
    page = await alice.get(f"/pro/patients/{web.world.jeanne_ins}")
    assert "Échanges ouverts : le patient peut vous répondre." in page.text
    assert re.search(r'href="/pro/documents/\d+">ordonnance.pdf</a>', page.text)
    unknown = await bruno.get(f"/pro/patients/{web.world.jeanne_ins}")
    assert "ordonnance.pdf" not in unknown.text and "Aucun échange" in unknown.text
    assert "bris de glace" in unknown.text


async def test_ending_asks_first_and_shows_the_patients_view(web: Web, alice, jeanne
                                                             ) -> None:
    await web.send(subject="Suivi")
    confirm = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/end")
    assert confirm.status_code == 200
    assert "Ce que verra le patient" in confirm.text
    assert "Le professionnel a mis fin aux échanges" in confirm.text
    assert 'name="confirm" value="1"' in confirm.text
    conversation = await web.context.conversations.find(web.world.alice, web.world.jeanne)
    assert conversation is not None and conversation.is_open
    done = await alice.post(f"/pro/patients/{web.world.jeanne_ins}/end",
                            data={"csrf": csrf_of(confirm.text), "confirm": "1"})
    assert done.status_code == 303
    inbox = await jeanne.get("/inbox")
    assert "Le professionnel a mis fin aux échanges" in inbox.text
    again = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/end")
    assert again.status_code == 303  # nothing left to end


async def test_writing_by_ins_names_the_patient_and_needs_the_confirmation(
        web: Web, alice) -> None:
    first = await alice.get("/pro/write")
    assert 'name="ins"' in first.text and 'name="body"' not in first.text
    named = await alice.get(f"/pro/write?ins={web.world.jeanne_ins}")
    assert named.status_code == 200
    assert "<strong>Jeanne DUPONT</strong>" in named.text and 'name="confirm_name"' in named.text
    unconfirmed = await alice.post("/pro/write", data={
        "csrf": csrf_of(named.text), "ins": web.world.jeanne_ins, "subject": "Ordonnance",
        "body": "Bonjour"})
    assert unconfirmed.status_code == 422 and "Confirmez le nom du patient" in unconfirmed.text
    assert await web.context.conversations.find(web.world.alice, web.world.jeanne) is None
    nobody = await alice.get("/pro/write?ins=185077512345608")
    assert nobody.status_code == 422 and "Aucun patient n&#39;a cet INS" in nobody.text
    assert 'name="body"' not in nobody.text
    sent = await alice.post("/pro/write", data={
        "csrf": csrf_of(named.text), "ins": web.world.jeanne_ins, "confirm_name": "1",
        "subject": "Ordonnance", "body": "Bonjour"})
    assert sent.status_code == 303
    assert await web.context.conversations.find(web.world.alice, web.world.jeanne)
