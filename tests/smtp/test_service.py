"""`mss serve` wiring: each SMTP listener prints its real port, and can be switched off."""

from __future__ import annotations

import re

from mss.app import App
from mss.clock import ManualClock
from tests.smtp.conftest import DOMAIN_A, install_pki


async def test_listener_lines_give_real_ports_and_honour_enabled(make_settings, session_pki
                                                                 ) -> None:
    off = {"enabled": False}
    settings = make_settings(
        "svc", server={"hostname": f"mx.{DOMAIN_A}", "domain": DOMAIN_A, "node_id": "a"},
        listeners={"mx": {"port": 0}, "submission": {"port": 0}, "submissions": off,
                   "imap": off, "imaps": off, "http": off})
    install_pki(settings, session_pki, session_pki.operator_a)
    app = App(settings, clock=ManualClock())
    lines = await app.start()
    try:
        smtp = [line for line in lines if line.startswith(("MX", "Submission", "Outbound"))]
        assert len(smtp) == 3
        assert re.fullmatch(r"MX on 127\.0\.0\.1:(\d+) \(STARTTLS, client certificate "
                            r"required\)", smtp[0])
        assert re.fullmatch(r"Submission on 127\.0\.0\.1:(\d+) \(STARTTLS, AUTH PLAIN LOGIN "
                            r"EXTERNAL\)", smtp[1])
        assert smtp[2] == "Outbound queue worker started"
        ports = [int(re.search(r":(\d+) ", line).group(1)) for line in smtp[:2]]  # type: ignore[union-attr]
        assert all(port > 0 for port in ports)
    finally:
        await app.stop()
