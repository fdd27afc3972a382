"""Pages without login: /health and Thunderbird autoconfig (describing the IMAP and
submission endpoints from the settings; professionals' clients use them)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mss.webmail.web_auth import context_of


async def health(_request: Request) -> Response:
    """Liveness of the web listener only; the node's health, database included, is on
    the admin listener (mss.admin_listener)."""
    return JSONResponse({"status": "ok"})


def autoconfig_xml(hostname: str, domain: str, imap: tuple[bool, int], imaps: tuple[bool, int],
                   submission: tuple[bool, int], submissions: tuple[bool, int]) -> str:
    """Thunderbird autoconfig v1.1 (the ISPDB format); password login is the embedded
    default of MSS, so `password-cleartext` over TLS."""
    host = escape(hostname)
    servers = []
    for (enabled, port), kind, socket in ((imaps, "imap", "SSL"), (imap, "imap", "STARTTLS")):
        if enabled:
            servers.append(
                f'    <incomingServer type="{kind}">\n      <hostname>{host}</hostname>\n'
                f"      <port>{port}</port>\n      <socketType>{socket}</socketType>\n"
                "      <authentication>password-cleartext</authentication>\n"
                "      <username>%EMAILADDRESS%</username>\n    </incomingServer>")
    for (enabled, port), socket in ((submissions, "SSL"), (submission, "STARTTLS")):
        if enabled:
            servers.append(
                f'    <outgoingServer type="smtp">\n      <hostname>{host}</hostname>\n'
                f"      <port>{port}</port>\n      <socketType>{socket}</socketType>\n"
                "      <authentication>password-cleartext</authentication>\n"
                "      <username>%EMAILADDRESS%</username>\n    </outgoingServer>")
    body = "\n".join(servers)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<clientConfig version="1.1">\n'
            f'  <emailProvider id="{escape(domain)}">\n    <domain>{escape(domain)}</domain>\n'
            "    <displayName>Messagerie santé</displayName>\n"
            "    <displayShortName>MSS</displayShortName>\n"
            f"{body}\n  </emailProvider>\n</clientConfig>\n")


async def autoconfig(request: Request) -> Response:
    web = context_of(request)
    listeners = web.settings.listeners
    actual: dict[str, int] = request.app.state.ports

    def entry(name: str) -> tuple[bool, int]:
        listener = getattr(listeners, name)
        return listener.enabled, actual.get(name, listener.port)

    xml = autoconfig_xml(web.settings.server.hostname, web.settings.server.domain,
                         entry("imap"), entry("imaps"), entry("submission"),
                         entry("submissions"))
    return Response(xml, media_type="application/xml")
