"""Webmail forms on hostile input: never a 500, and no header injection.

Every POST form of the webmail gets random field values (control characters, CR/LF,
NUL, long text, non-UTF-8 bytes) with a valid CSRF token, so the handler itself runs;
then raw random bodies under form and multipart content types. Invariant: a 4xx or a
page (2xx/3xx), never a 500. Hypothesis drives the inputs from a worker thread while the
requests run on the test's event loop (the store is bound to it).

Header injection: a subject or an attachment name carrying CR/LF and a forged field
(`Bcc:`) reaches the stored message as one folded header value, never as a new field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email import message_from_bytes
from email.policy import default as default_policy

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webmail.conftest import Web, csrf_of, patient

NASTY = ["\r\n", "\n", "\r", "\x00", "Bcc: evil@example.org", "\r\nBcc: evil@example.org",
         "=?utf-8?q?=0D=0ABcc:_x?=", "é", "\u2028", "\ufeff", "<script>", "{{7*7}}", "%0d%0a",
         "../../etc/passwd", "A" * 5000, "1" * 30, "' OR 1=1 --", "\udcff", "[FIN]"]
value = st.one_of(st.text(max_size=80), st.sampled_from(NASTY),
                  st.lists(st.sampled_from(NASTY), max_size=5).map("".join))
EXAMPLES = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def on_loop(loop: asyncio.AbstractEventLoop) -> Callable:  # type: ignore[type-arg]
    def run(coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(60)
    return run


async def _token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return csrf_of(page.text)


async def test_patient_and_professional_forms_never_answer_500(
        web: Web, jeanne: httpx.AsyncClient, alice: httpx.AsyncClient) -> None:
    await web.send(to=web.world.jeanne)  # a conversation, so that the reply form exists
    run = on_loop(asyncio.get_running_loop())
    ins = web.world.jeanne_ins
    patient_token = await _token(jeanne, "/write")
    pro_token = await _token(alice, "/pro/write")
    forms = [
        (jeanne, patient_token, "/write", ["to", "subject", "body"]),
        (jeanne, patient_token, "/settings", ["action", "state", "email", "code"]),
        (jeanne, patient_token, "/conversations/x/reply", ["subject", "body"]),
        (alice, pro_token, "/pro/write", ["ins", "subject", "body", "end"]),
        (alice, pro_token, f"/pro/write?ins={ins}", ["subject", "body", "end"]),
        (alice, pro_token, f"/pro/patients/{ins}/end", ["reason"]),
        (alice, pro_token, f"/pro/patients/{ins}/break-glass", ["reason"]),
        (alice, pro_token, "/pro/patients/%0d%0a/end", ["reason"]),
    ]

    @EXAMPLES
    @given(st.sampled_from(range(len(forms))), st.lists(value, min_size=4, max_size=4),
           st.booleans())
    def check(index: int, values: list[str], with_token: bool) -> None:
        client, token, path, names = forms[index]
        data = dict(zip(names, values, strict=False))
        if "?ins=" in path:  # a valid patient, so that the message is composed and sent
            path, data["ins"], data["confirm_name"] = "/pro/write", ins, "1"
        if with_token:
            data["csrf"] = token
        encoded = {k: v.encode("utf-8", "surrogateescape") for k, v in data.items()}
        response = run(client.post(path, data=encoded))
        assert response.status_code < 500, (path, data, response.status_code)

    await asyncio.to_thread(check)


async def test_raw_bodies_never_answer_500(web: Web, jeanne: httpx.AsyncClient) -> None:
    run = on_loop(asyncio.get_running_loop())
    types = ["application/x-www-form-urlencoded", "multipart/form-data; boundary=zz",
             "multipart/form-data", "multipart/form-data; boundary=", "text/plain", ""]
    paths = ["/write", "/settings", "/documents/upload", "/login", "/login/code", "/logout",
             "/pro/write", "/api/v1/messages"]

    @EXAMPLES
    @given(st.sampled_from(paths), st.sampled_from(types), st.binary(max_size=600))
    def check(path: str, content_type: str, body: bytes) -> None:
        headers = {"content-type": content_type} if content_type else {}
        response = run(jeanne.post(path, content=body, headers=headers))
        assert response.status_code < 500, (path, content_type, body, response.status_code)

    await asyncio.to_thread(check)


async def test_crlf_in_subject_and_file_name_is_no_header_injection(
        web: Web, alice: httpx.AsyncClient) -> None:
    token = await _token(alice, "/pro/write")
    subject = "Résultats\r\nBcc: evil@example.org\r\nX-MSS-MES: FIN"
    response = await alice.post("/pro/write", data={
        "csrf": token, "ins": web.world.jeanne_ins, "confirm_name": "1", "subject": subject,
        "body": "Bonjour"},
        files={"files": ("cr\r\nBcc: evil@example.org.pdf", b"%PDF-1.4\n%%EOF\n",
                         "application/pdf")})
    assert response.status_code in (303, 422), response.text[:500]
    async with web.store.reading() as session:
        from mss.store.mailboxes import find_mailbox

        mailbox = await find_mailbox(session, web.world.jeanne)
        assert mailbox is not None
        inbox = await web.store.mail.folders.named(session, mailbox.id, "INBOX")
        entries = await web.store.mail.reads.entries(session, inbox.id)
    raws = [await web.store.mail.contents.read_raw(e.mailbox_id, e.blob_key) for e in entries]
    assert raws, "the message was not delivered"
    for raw in raws:
        head = raw.split(b"\r\n\r\n", 1)[0]
        names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")
                 if line and line[:1] not in (b" ", b"\t")]
        assert b"bcc" not in names and names.count(b"x-mss-mes") == 0, head
        parsed = message_from_bytes(raw, policy=default_policy)
        for part in parsed.walk():
            assert "\n" not in str(part.get_filename() or "")
    assert patient(web).mailbox == web.world.jeanne
