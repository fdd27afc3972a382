"""The patient's traces in plain French, newest first, paged (issue 8)."""

from __future__ import annotations

import re

from .conftest import PDF, Web, csrf_of


async def test_traces_name_people_and_break_glass_reason(web: Web, jeanne, alice,
                                                         bruno) -> None:
    await web.send(subject="Ordonnance", attachments=[("o.pdf", "application/pdf", PDF)])
    inbox = await alice.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    assert inbox.status_code == 200
    page = await bruno.get(f"/pro/patients/{web.world.jeanne_ins}/documents")
    await bruno.post(f"/pro/patients/{web.world.jeanne_ins}/break-glass",
                     data={"csrf": csrf_of(page.text), "reason": "Urgence vitale"})
    traces = await jeanne.get("/traces")
    text = traces.text
    assert "Dr Alice MARTIN vous a envoyé un message." in text
    assert "Dr Alice MARTIN a consulté la liste de vos documents." in text
    assert "M. Bruno PETIT a accédé en urgence (bris de glace) à vos documents." in text
    assert "Motif : « Urgence vitale »" in text
    assert text.index("bris de glace") < text.index("vous a envoyé un message")  # newest first
    assert "Voici" not in text  # never content


async def test_traces_are_paged(web: Web, jeanne) -> None:
    for n in range(35):
        await web.send(subject=f"Message {n}")
    first = await jeanne.get("/traces")
    assert first.text.count('<li class="') == 30
    older = re.search(r'href="(/traces\?before=\d+)"', first.text).group(1)
    second = await jeanne.get(older)
    assert second.text.count('<li class="') >= 5


async def test_a_professional_reading_a_patient_message_is_traced(web: Web, jeanne,
                                                                  alice) -> None:
    await web.send(subject="Question")
    inbox = await jeanne.get("/inbox")
    conversation = await jeanne.get(
        "/conversations/" + inbox.text.split('href="/conversations/')[1].split('"')[0])
    action = re.search(r'action="(/conversations/[0-9a-f]+/reply)"', conversation.text).group(1)
    await jeanne.post(action, data={"csrf": csrf_of(conversation.text), "subject": "R",
                                    "body": "b"})
    page = await alice.get(f"/pro/patients/{web.world.jeanne_ins}")
    await alice.get(re.search(r'href="(/pro/messages/inbox/\d+)"', page.text).group(1))
    traces = await jeanne.get("/traces")
    assert "Dr Alice MARTIN a lu votre message du" in traces.text
