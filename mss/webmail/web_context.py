"""What the webmail and the API work with: the store, the pipeline and the services, all
given from outside (docs/architecture.md §1: adapters only call services, never SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from mss.config import Settings
from mss.directory.web_sessions import SessionLimits
from mss.oidc.web_sign_in import WebSignIn
from mss.pipeline.accept import Pipeline
from mss.pipeline.conversations import ConversationService
from mss.store.store import Store
from mss.vault.access import VaultService

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Largest file in a form (documents, attachments); the vault checks its own limit too."""
MAX_BODY_BYTES = 26 * 1024 * 1024
"""Largest request body: a message to a patient is at most 25 MB (MSS policy S1)."""


@dataclass
class WebContext:
    store: Store
    settings: Settings
    pipeline: Pipeline
    vault: VaultService
    conversations: ConversationService
    session_limits: SessionLimits = field(default_factory=SessionLimits)
    secure_cookies: bool = False
    """Mark cookies Secure even on plain http (behind a TLS-terminating proxy). On https
    requests they are always Secure."""
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    oidc: WebSignIn | None = None
    """Sign-in with the OpenID provider (Pro Santé Connect), when one is configured."""

    @classmethod
    def build(cls, store: Store, pipeline: Pipeline, vault: VaultService | None = None
              ) -> WebContext:
        web = store.settings.webmail
        limits = SessionLimits(idle=timedelta(minutes=web.session_idle_minutes),
                               absolute=timedelta(hours=web.session_absolute_hours))
        return cls(store, store.settings, pipeline, vault or VaultService(store),
                   ConversationService(store, pipeline.facts), limits, web.secure_cookies)
