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


async def test_traces_name_documents_and_refusals_in_french_and_english(
        web: Web, jeanne, alice) -> None:
    from mss.identity import SYSTEM
    from mss.store.audit_actions import AuditAction
    from tests.vault import corpus

    ins = web.world.jeanne_ins
    archive = corpus.xdm_archive([corpus.lettre_de_liaison(
        content=corpus.cda_document("11490-0", "Lettre de liaison", ins=ins),
        patient_id=corpus.cx(ins), sha1="0" * 40)])
    await web.send(subject="Sortie", attachments=[
        ("IHE_XDM.zip", "application/zip", archive),
        ("ordonnance.pdf", "application/pdf", PDF)])
    documents = await jeanne.get("/documents")
    ident = re.search(r'href="/documents/(\d+)">ordonnance.pdf', documents.text).group(1)
    assert (await alice.get(f"/pro/documents/{ident}")).status_code == 200
    assert (await jeanne.get(f"/documents/{ident}")).status_code == 200

    async def housekeeping(uow) -> None:  # type: ignore[no-untyped-def]
        uow.audit(AuditAction.DOCUMENT_LISTED, SYSTEM, subject=ins, detail="space=all")
    await web.store.write(housekeeping)

    text = (await jeanne.get("/traces")).text.replace("&#39;", "'")
    assert "Dr Alice MARTIN a déposé « ordonnance.pdf » dans votre dossier." in text
    assert "Dr Alice MARTIN a ouvert « ordonnance.pdf »." in text
    assert "Vous avez ouvert « ordonnance.pdf »." in text
    assert ("« DOC0001.XML », envoyé par Dr Alice MARTIN, n'a pas été déposé : la taille ou "
            "l'empreinte SHA-1 diffère de celle des métadonnées.") in text
    for internal in ("Vous vous", "de Vous", "IHE_XDM", "[FIN]", "refused=", ins):
        assert internal not in text.rsplit("</form>", 1)[1], internal  # the lines shown
    people, service = text.split("Opérations de la messagerie")
    assert "La messagerie santé a consulté la liste de vos documents." in service
    assert "La messagerie santé a consulté" not in people
    # English mode speaks English, and the filters keep one actor or one document
    jeanne.cookies.set("mss_lang", "en")
    english = (await jeanne.get("/traces")).text
    assert "Dr Alice MARTIN filed “ordonnance.pdf” in your record." in english
    assert "You opened “ordonnance.pdf”." in english
    assert "a déposé" not in english and "Accesses and actions by people" in english
    jeanne.cookies.set("mss_lang", "fr")
    mine = (await jeanne.get(f"/traces?who=patient:{ins}")).text
    assert "Vous avez ouvert « ordonnance.pdf »." in mine and "Dr Alice MARTIN a" not in mine
    only = (await jeanne.get(f"/traces?document={ident}")).text
    assert "ordonnance.pdf" in only and "DOC0001.XML" not in only.split("<h2>", 1)[1]
