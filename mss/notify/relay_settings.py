"""Where notices go out: an outside SMTP relay (the patient's personal address is on
the open Internet, outside the trust space, so MSS never delivers it itself).

Until `mss.config` grows a `[notify]` table these come from the environment:
MSS_NOTIFY_RELAY_HOST (empty: notices stay queued), MSS_NOTIFY_RELAY_PORT (587),
MSS_NOTIFY_RELAY_TLS (starttls | implicit | none), MSS_NOTIFY_RELAY_USERNAME,
MSS_NOTIFY_RELAY_PASSWORD, MSS_NOTIFY_RELAY_CA_FILE (extra CA to trust),
MSS_NOTIFY_SENDER (From address), MSS_NOTIFY_WEBMAIL_URL (the link in the notice).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def relay_settings(settings: Settings, environ: Mapping[str, str] | None = None
                   ) -> RelaySettings:
    env = os.environ if environ is None else environ
    tls = env.get("MSS_NOTIFY_RELAY_TLS", "starttls").strip().lower()
    if tls not in TLS_MODES:
        raise ValueError(f"MSS_NOTIFY_RELAY_TLS: one of {', '.join(TLS_MODES)}")
    http = settings.listeners.http
    return RelaySettings(
        host=env.get("MSS_NOTIFY_RELAY_HOST", ""),
        port=int(env.get("MSS_NOTIFY_RELAY_PORT", "587")),
        tls=tls,
        username=env.get("MSS_NOTIFY_RELAY_USERNAME", ""),
        password=env.get("MSS_NOTIFY_RELAY_PASSWORD", ""),
        ca_file=env.get("MSS_NOTIFY_RELAY_CA_FILE", ""),
        sender=env.get("MSS_NOTIFY_SENDER", f"ne-pas-repondre@{settings.server.domain}"),
        webmail_url=env.get("MSS_NOTIFY_WEBMAIL_URL",
                            f"http://{settings.server.hostname}:{http.port}/"),
    )
