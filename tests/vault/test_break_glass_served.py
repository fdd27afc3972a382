"""Break-glass on a running node (issue 20 §3, CSP R1111-48): the whole server on real
sockets (MX, submission, IMAP, webmail on port 0). A physician writes to the patient by
SMTP, the patient names her médecin traitant in the webmail over HTTP, a nurse who is
not in care opens the record in an emergency with a reason; the médecin traitant finds
the notice (who, profession, reason) in their INBOX over IMAPS, and the patient's
personal-address notice is queued for the relay."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import re
from email import message_from_bytes, policy

import httpx

from mss.notify.notice_queue import notices
from mss.notify.notice_text import NoticeKind
from mss.vault.mdn_sending import drain_acknowledgements
from tests.hardening.conftest import Node, NodeFactory, nodes  # noqa: F401
from tests.smtp.conftest import session_pki  # noqa: F401

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token"
    return found.group(1)


async def web_login(client: httpx.AsyncClient, login: str, password: str) -> None:
    page = await client.get("/login")
    done = await client.post("/login", data={"csrf": csrf_in(page.text), "login": login,
                                             "password": password, "mailbox": ""})
    assert done.status_code == 303, done.text


def inbox_subjects(node: Node, address: str, password: str) -> list[tuple[str, str]]:
    """(Subject, plain text) of every message in `address`'s INBOX, read over IMAPS."""
    client = imaplib.IMAP4_SSL("127.0.0.1", node.port("imaps"),
                               ssl_context=node.client_context(), timeout=60)
    try:
        client.login(address, password)
        client.select("INBOX", readonly=True)
        _, found = client.uid("SEARCH", "ALL")
        messages = []
        for uid in found[0].split():
            _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            message = message_from_bytes(data[0][1], policy=policy.default)
            body = message.get_body(("plain",))
            messages.append((str(message["Subject"]), body.get_content() if body else ""))
        client.logout()
        return messages
    finally:
        with contextlib.suppress(OSError):  # already closed by LOGOUT
            client.shutdown()


async def test_the_attending_physician_is_told_of_a_break_glass_by_a_running_node(
        nodes: NodeFactory) -> None:  # noqa: F811
    node = await nodes("bg", listeners={
        "mx": {"port": 0, "host": "127.0.0.1"}, "submission": {"port": 0, "host": "127.0.0.1"},
        "submissions": {"port": 0, "host": "127.0.0.1"},
        "imap": {"port": 0, "host": "127.0.0.1"}, "imaps": {"port": 0, "host": "127.0.0.1"},
        "http": {"port": 0, "host": "127.0.0.1"}, "admin": {"port": 0, "host": "127.0.0.1"}})
    world = node.world
    code, _ = await node.submit(
        f"From: Dr Alice MARTIN <{world.alice}>\r\nTo: <{world.jeanne}>\r\n"
        "Subject: Suivi\r\n\r\nBonjour Madame Dupont.\r\n".encode(),
        recipients=[world.jeanne])
    assert code == 250
    base = f"http://127.0.0.1:{node.app.webmail.port}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as jeanne:
        await web_login(jeanne, world.jeanne, world.password)
        documents = await jeanne.get("/documents")
        named = await jeanne.post("/documents/who/attending", data={
            "csrf": csrf_in(documents.text), "professional": world.alice_rpps})
        assert named.status_code == 303
    async with httpx.AsyncClient(base_url=base, timeout=60) as bruno:
        await web_login(bruno, world.bruno, world.password)
        page = await bruno.get(f"/pro/patients/{world.jeanne_ins}/documents")
        assert page.status_code == 403 and "bris de glace" in page.text
        opened = await bruno.post(f"/pro/patients/{world.jeanne_ins}/break-glass", data={
            "csrf": csrf_in(page.text), "reason": "Malaise aux urgences, patiente inconsciente"})
        assert opened.status_code == 303
        listing = await bruno.get(opened.headers["location"])
        assert listing.status_code == 200 and "Malaise aux urgences" in listing.text
    await drain_acknowledgements()  # the notice is sent after the grant's commit
    await node.app.notifier.drain()
    told = await asyncio.to_thread(inbox_subjects, node, world.alice, world.password)
    [(subject, text)] = [m for m in told if m[0].startswith("Accès en urgence")]
    assert subject == "Accès en urgence au dossier de Jeanne DUPONT"
    assert "Bruno PETIT" in text and "Malaise aux urgences, patiente inconsciente" in text
    assert "dont vous êtes le médecin traitant" in text
    queued = [n for n in await notices(node.store) if n.kind == NoticeKind.BREAK_GLASS.value]
    assert len(queued) == 1  # the patient's own notice (no health data), for the relay
