"""Headers, CSRF, bounded bodies, and no object of one user reachable by another by
changing an id (messages, attachments, documents, traces, conversations) (issue 8)."""

from __future__ import annotations

import re

from .conftest import PDF, Web, csrf_of


async def test_security_headers_on_every_response(web: Web, jeanne) -> None:
    for path in ("/login", "/inbox", "/health", "/api/v1/openapi.json", "/nowhere"):
        response = await jeanne.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "form-action 'self'" in csp and "style-src 'self'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_every_form_needs_its_csrf_token(web: Web, jeanne) -> None:
    await web.send()
    for path in ("/settings", "/write", "/documents/upload", "/logout"):
        response = await jeanne.post(path, data={"csrf": "forged", "action": "state",
                                                 "state": "closed"})
        assert response.status_code == 403, path
    assert (await jeanne.get("/inbox")).status_code == 200  # logout did not happen


async def test_bodies_are_bounded(web: Web, jeanne) -> None:
    web.context.max_body_bytes = 1000
    token = await web.csrf(jeanne, "/documents")
    response = await jeanne.post("/documents/upload", data={"csrf": token},
                                 files={"file": ("big.pdf", PDF + b"0" * 2000,
                                                 "application/pdf")})
    assert response.status_code == 413
    web.context.max_body_bytes = 10_000_000
    web.context.max_upload_bytes = 1000  # one part larger than the upload bound
    response = await jeanne.post("/documents/upload", data={"csrf": token},
                                 files={"file": ("big.pdf", PDF + b"0" * 2000,
                                                 "application/pdf")})
    assert response.status_code in (400, 413)
    listing = await jeanne.get("/documents")
    assert "big.pdf" not in listing.text


async def test_secure_cookie_on_https(web: Web) -> None:
    import httpx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web.app),
                                 base_url="https://testserver") as client:
        page = await client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
    async with web.client() as client:
        page = await client.get("/login")
        assert "secure" not in page.headers["set-cookie"].lower()


async def test_paul_cannot_reach_jeannes_objects(web: Web, jeanne, paul) -> None:
    await web.send(subject="Pour Jeanne", attachments=[("o.pdf", "application/pdf", PDF)])
    inbox = await jeanne.get("/inbox")
    key = inbox.text.split('href="/conversations/')[1].split('"')[0]
    conversation = await jeanne.get(f"/conversations/{key}")
    message = re.search(r'href="(/messages/inbox/(\d+))"', conversation.text)
    page = await jeanne.get(message.group(1))
    attachment = re.search(r'href="(/messages/inbox/\d+/attachments/\d+)"', page.text).group(1)
    documents = await jeanne.get("/documents")
    document = re.search(r'href="/documents/(\d+)"', documents.text).group(1)
    assert (await paul.get(f"/conversations/{key}")).status_code == 404
    assert (await paul.get(message.group(1))).status_code == 404
    assert (await paul.get(attachment)).status_code == 404
    assert (await paul.get(f"/documents/{document}")).status_code == 404
    assert (await paul.get(f"/documents/{document}/download")).status_code == 404
    hide = await paul.post(f"/documents/{document}/hide",
                           data={"csrf": await web.csrf(paul, "/documents"),
                                 "professional": web.world.alice_rpps})
    assert hide.status_code == 404
    traces = await paul.get("/traces")
    assert "Dr Alice MARTIN" not in traces.text
    assert (await paul.get("/traces?before=999999")).status_code == 200


async def test_professional_not_in_care_gets_nothing(web: Web, bruno, jeanne) -> None:
    await web.send(subject="Pour Jeanne", attachments=[("o.pdf", "application/pdf", PDF)])
    documents = await jeanne.get("/documents")
    document = re.search(r'href="/documents/(\d+)"', documents.text).group(1)
    assert (await bruno.get(f"/pro/documents/{document}")).status_code == 404
    assert (await bruno.get("/pro/messages/inbox/1")).status_code == 404
    end = await bruno.post(f"/pro/patients/{web.world.jeanne_ins}/end",
                           data={"csrf": await web.csrf(bruno, "/pro")})
    assert end.status_code == 403


async def test_login_redirect_rejects_open_redirects(web: Web) -> None:
    async with web.client() as client:
        response = await client.get("/lang/en?next=//evil.example/")
        assert response.headers["location"] == "/"
        assert csrf_of((await client.get("/login")).text)


async def test_ids_out_of_range_are_not_found(web: Web, jeanne, alice) -> None:
    """Every numeric id of a URL goes through one convertor (mss.webmail.path_ids): 2^63
    and beyond, which no database key can be, give the 404 of an unknown page, not the
    500 of an integer overflow."""
    huge = ["9223372036854775807", "9223372036854775808", "18446744073709551616",
            "1" + "0" * 40]
    for number in huge:
        for path in (f"/documents/{number}", f"/documents/{number}/download",
                     f"/documents/{number}/embedded", f"/documents/{number}/message",
                     f"/messages/INBOX/{number}", f"/messages/INBOX/1/attachments/{number}"):
            assert (await jeanne.get(path)).status_code == 404, path
        for path in (f"/pro/documents/{number}", f"/pro/messages/INBOX/{number}",
                     f"/pro/documents/{number}/download"):
            assert (await alice.get(path)).status_code == 404, path
        token = await web.csrf(jeanne, "/documents")
        hidden = await jeanne.post(f"/documents/{number}/hide", data={"csrf": token})
        assert hidden.status_code == 404
