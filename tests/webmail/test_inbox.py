"""Inbox as conversations: names not addresses, unread counts, state (issue 8)."""

from __future__ import annotations

from .conftest import Web


async def test_inbox_shows_professional_names_and_unread_counts(web: Web, jeanne) -> None:
    await web.send(subject="Premier")
    await web.send(subject="Second")
    page = await jeanne.get("/inbox")
    assert page.status_code == 200
    assert "Dr Alice MARTIN" in page.text
    assert web.world.alice not in page.text  # never the address
    assert "2 non lu(s)" in page.text
    assert "Échanges ouverts" in page.text


async def test_ended_conversation_shows_state_and_no_reply(web: Web, jeanne) -> None:
    await web.send(subject="Consultation")
    await web.send(subject="[FIN]")
    page = await jeanne.get("/inbox")
    assert "Le professionnel a mis fin aux échanges" in page.text
    link = page.text.split('href="/conversations/')[1].split('"')[0]
    conversation = await jeanne.get(f"/conversations/{link}")
    assert "Le professionnel a mis fin aux échanges" in conversation.text
    assert "/reply" not in conversation.text


async def test_app_with_reply_to_names_the_contact(web: Web, jeanne) -> None:
    from mss.identity import Principal, PrincipalKind

    app = Principal(PrincipalKind.APPLICATION, "Laboratoire de démonstration", "",
                    web.world.noreply)
    result = await web.send(principal=app, mail_from=web.world.noreply,
                            headers={"Reply-To": web.world.alice}, subject="Vos résultats")
    assert result.results[0].accepted
    page = await jeanne.get("/inbox")
    assert "Laboratoire de démonstration" in page.text
    assert web.world.noreply not in page.text


async def test_empty_inbox(jeanne) -> None:
    page = await jeanne.get("/inbox")
    assert "Aucun message." in page.text
