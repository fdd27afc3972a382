"""Thunderbird autoconfig and health (issue 8)."""

from __future__ import annotations

from defusedxml import ElementTree

from .conftest import Web


async def test_autoconfig_describes_imap_and_submission(web: Web) -> None:
    async with web.client() as client:
        response = await client.get("/.well-known/autoconfig/mail/config-v1.1.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    listeners = web.store.settings.listeners
    incoming = {(s.findtext("port"), s.findtext("socketType"))
                for s in root.iter("incomingServer")}
    outgoing = {(s.findtext("port"), s.findtext("socketType"))
                for s in root.iter("outgoingServer")}
    assert incoming == {(str(listeners.imaps.port), "SSL"), (str(listeners.imap.port), "STARTTLS")}
    assert outgoing == {(str(listeners.submissions.port), "SSL"),
                        (str(listeners.submission.port), "STARTTLS")}
    assert root.find("emailProvider/domain").text == web.store.settings.server.domain


async def test_health(web: Web) -> None:
    async with web.client() as client:
        response = await client.get("/health")
    assert response.json() == {"status": "ok"}
