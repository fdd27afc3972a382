"""AUTHENTICATE XOAUTH2 and OAUTHBEARER (RFC 7628) for the IMAP session, sans-IO.

A valid token logs the professional in (their PER mailbox, or the ORG mailbox named as
authorisation identity). A refused token gets the RFC 7628 §3.2.2 exchange: a
continuation carrying the base64 JSON status, the client's dummy response, then
``NO [AUTHENTICATIONFAILED]``, the same text as any other failure. A provider that
cannot be reached gives ``NO [UNAVAILABLE]`` (RFC 5530) so the client keeps its token.
The token is never logged.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from mss.event_log import event
from mss.imap.login_commands import AUTH_FAILED, logged_in, sasl_bytes
from mss.imap.responses import ImapNo, ResponseCode, continuation
from mss.oidc.sasl import SaslMalformed, error_challenge, parse_bearer
from mss.store.audit_actions import AuditAction

if TYPE_CHECKING:
    from mss.imap.session import ImapSession, Reply


async def bearer_step(session: ImapSession, mechanism: str, response: bytes) -> Reply:
    """The client's initial response: check the token, log in or start the error dance."""
    assert session.oauth is not None
    try:
        credentials = parse_bearer(mechanism, sasl_bytes(response))
    except SaslMalformed:
        raise ImapNo(ResponseCode.AUTHENTICATIONFAILED, AUTH_FAILED) from None
    outcome = await session.oauth.sign_in(
        credentials.token, credentials.authzid, session.connection.client_address,
        via=f"imap {mechanism}")
    if outcome.temporary:
        raise ImapNo(ResponseCode.UNAVAILABLE, "Identity provider unavailable, try later")
    if outcome.principal is None:
        event(AuditAction.AUTH_FAILED, protocol="imap", mechanism=mechanism,
              user=credentials.authzid or "", client=session.connection.client_address)
        status = error_challenge(
            mechanism, openid_configuration=session.oauth.openid_configuration)
        session.await_sasl(_after_error, session.sasl_tag)
        yield continuation(base64.b64encode(status).decode("ascii"))
        return
    async for item in logged_in(session, outcome.principal, mechanism,
                                credentials.authzid or ""):
        yield item


async def _after_error(response: bytes) -> Reply:
    """RFC 7628 §3.2.3: whatever the client answers, the exchange fails."""
    raise ImapNo(ResponseCode.AUTHENTICATIONFAILED, AUTH_FAILED)
    yield b""  # pragma: no cover - makes this an async generator
