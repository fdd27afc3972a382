"""Where notices go out: an outside SMTP relay (the patient's personal address is on
the open Internet, outside the trust space, so MSS never delivers it itself).

They come from the `[notify]` settings (`MSS_NOTIFY__RELAY_HOST` ... in the
environment); an empty relay host keeps notices queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from mss.config import Settings

TLS_MODES = ("starttls", "implicit", "none")


@dataclass(frozen=True, slots=True)
class RelaySettings:
    host: str = ""
    port: int = 587
    tls: str = "starttls"
    username: str = ""
    password: str = ""
    ca_file: str = ""
    sender: str = ""
    webmail_url: str = ""
    timeout_seconds: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def relay_settings(settings: Settings) -> RelaySettings:
    notify = settings.notify
    http = settings.listeners.http
    return RelaySettings(
        host=notify.relay_host, port=notify.relay_port, tls=notify.relay_tls,
        username=notify.relay_username, password=notify.relay_password,
        ca_file=notify.relay_ca_file,
        sender=notify.sender or f"ne-pas-repondre@{settings.server.domain}",
        webmail_url=notify.webmail_url or f"http://{settings.server.hostname}:{http.port}/",
    )
