"""`mss serve` runs the webmail under uvicorn on settings.listeners.http (issue 8)."""

from __future__ import annotations

import httpx

from mss.app import App


async def test_app_starts_http_and_prints_the_real_port(make_settings, clock) -> None:
    off = {"enabled": False}
    settings = make_settings(listeners={"mx": off, "submission": off, "submissions": off,
                                        "imap": off, "imaps": off,
                                        "http": {"port": 0, "host": "127.0.0.1"}})
    app = App(settings, clock=clock)
    lines = await app.start()
    try:
        (line,) = [x for x in lines if x.startswith("HTTP on")]
        port = app.webmail.port
        assert line == f"HTTP on 127.0.0.1:{port} (webmail, API, autoconfig)" and port > 0
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/health")
            assert response.json() == {"status": "ok"}
            login = await client.get(f"http://127.0.0.1:{port}/login")
            assert "Connexion" in login.text
        assert app.notifier.on_delivery in app.pipeline.in_delivery
    finally:
        await app.stop()
