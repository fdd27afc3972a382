"""Pending web sign-ins (authorisation-code flow), kept server-side so that every node
behind one address can finish a flow another node started (docs/architecture.md §7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime


class OidcPendingLogin(Base):
    """One authorisation request: the `state` (only its SHA-256 here), the browser it
    belongs to (SHA-256 of its pre-login cookie), the nonce and the PKCE verifier."""

    __tablename__ = "oidc_pending_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(100))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    org_mailbox: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
