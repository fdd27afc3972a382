"""Tables of signed-in accounts: browser sessions (in the database, so several nodes
behind one address share them), API bearer tokens of APP mailboxes, TOTP second factors.

Their queries: mss.directory.web_sessions, api_tokens, second_factor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime


class WebSessionRow(Base):
    """A logged-in browser: the cookie holds a random token, the row only its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_kind: Mapped[str] = mapped_column(String(20))
    ident: Mapped[str] = mapped_column(String(1000))
    display_name: Mapped[str] = mapped_column(String(300), default="")
    mailbox: Mapped[str] = mapped_column(String(320), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    second_factor_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # what the list of her devices shows (User-Agent and address at sign-in), no more
    user_agent: Mapped[str] = mapped_column(String(300), default="", server_default="")
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="")


class ApiTokenRow(Base):
    """A bearer token of an APP mailbox for the HTTP API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class TotpSecretRow(Base):
    """A TOTP second factor (RFC 6238) of a login; active once confirmed with a code."""

    __tablename__ = "totp_secrets"

    login: Mapped[str] = mapped_column(String(320), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_step: Mapped[int] = mapped_column(default=0)  # replay guard: last accepted step
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
