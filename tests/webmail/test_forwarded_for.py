"""Behind HAProxy in HTTP mode the web listener names the client from X-Forwarded-For,
believed only from `listeners.proxy_trusted_networks` (uvicorn's proxy headers through
mss.webmail.service.EmbeddedHttp); anyone else's header is ignored."""

from __future__ import annotations

from typing import Any

import httpx

from mss.webmail.service import EmbeddedHttp


async def client_address(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A one-route ASGI app answering with the client address the server decided."""
    body = str(scope["client"][0]).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def seen_as(port: int, source: str, forwarded: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(f"http://127.0.0.1:{port}/", headers=headers)
    return response.text


async def test_forwarded_for_is_believed_from_the_balancer_only() -> None:
    http = EmbeddedHttp()
    port = await http.start(client_address, "127.0.0.1", 0, name="test-http",
                            forwarded_from="127.0.0.1/32")
    try:
        assert await seen_as(port, "127.0.0.1", "192.0.2.50") == "192.0.2.50"
        assert await seen_as(port, "127.0.0.2", "192.0.2.51") == "127.0.0.2"
        assert await seen_as(port, "127.0.0.1", None) == "127.0.0.1"
    finally:
        await http.stop()


async def test_without_trusted_networks_no_header_is_believed() -> None:
    http = EmbeddedHttp()
    port = await http.start(client_address, "127.0.0.1", 0, name="test-http")
    try:
        assert await seen_as(port, "127.0.0.1", "192.0.2.52") == "127.0.0.1"
    finally:
        await http.stop()
