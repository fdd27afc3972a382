"""Tables of the webmail and the HTTP API: browser sessions (in the database, so several
nodes behind one address share them), refused sends kept visible, API tokens, TOTP.

Queries on these tables live in domain modules (mss.directory.web_sessions,
mss.directory.api_tokens, mss.directory.second_factor, mss.pipeline.refused_sends):
mss.webmail itself holds no SQL. The notice queue of mss.notify and the pending web
sign-ins of mss.oidc are imported here so the schema (mss.store.schema.TABLE_MODULES)
sees them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mss.notify.tables import NoticeRow
from mss.oidc.tables import OidcPendingLogin
from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id

__all__ = ["ApiTokenRow", "NoticeRow", "OidcPendingLogin", "RefusedSendRow", "TotpSecretRow",
           "WebSessionRow"]


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


class RefusedSendRow(Base):
    """A message the pipeline refused: kept (its text in the Drafts folder, the reason
    here) so that the sender sees it as not sent (DESIGN §4: never dropped silently)."""

    __tablename__ = "refused_sends"
    __table_args__ = (Index("ix_refused_sends_mailbox_id", "mailbox", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    drafts_uid: Mapped[int | None] = mapped_column(nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


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
