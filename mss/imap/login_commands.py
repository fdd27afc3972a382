"""Authentication commands of the IMAP session (RFC 3501 §6.2), sans-IO: STARTTLS,
LOGIN, AUTHENTICATE (PLAIN, EXTERNAL; XOAUTH2/OAUTHBEARER in mss.imap.bearer_auth) and
UNAUTHENTICATE (RFC 8437).

Invariants (the session's, docs/architecture.md §8.1): LOGIN and AUTHENTICATE are
refused before TLS (``NO [PRIVACYREQUIRED]``); every failure gets the same reply (no
account enumeration); the `[auth]` policy is applied to certificates here, to passwords
in the directory and to tokens in mss.oidc; `auth.failed` lines never carry the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mss.certs import identify_certificate
from mss.directory.auth_policy import AuthMethod, principal_allows
from mss.directory.authentication import authenticate
from mss.directory.certificate_bindings import principal_for_certificate
from mss.directory.mail_access import mail_access_for
from mss.directory.org_members import rights_on_org
from mss.event_log import event
from mss.identity import OrgRight, Principal, PrincipalKind
from mss.imap.commands import AuthenticateCommand, Command
from mss.imap.namespaces import MailboxNames
from mss.imap.responses import ImapBad, ImapNo, ResponseCode, code_capability, continuation
from mss.imap.session import Connection, Done, Reply, State
from mss.oidc.sasl import MECHANISMS as BEARER_MECHANISMS
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from mss.imap.session import ImapSession

AUTH_FAILED = "Authentication failed"

async def cmd_starttls(session: ImapSession, command: Command) -> Reply:
    if session.connection.tls:
        raise ImapBad(None, "TLS is already active")
    session.start_tls_requested = True
    yield Done("Begin TLS negotiation now")


def _require_tls(session: ImapSession) -> None:
    if not session.connection.tls:
        raise ImapNo(ResponseCode.PRIVACYREQUIRED, "Use STARTTLS first")


async def cmd_login(session: ImapSession, command: Any) -> Reply:
    _require_tls(session)
    principal = await authenticate(session.store, command.username, command.password,
                                   session.connection.client_address)
    async for item in logged_in(session, principal, "LOGIN", command.username):
        yield item


async def cmd_authenticate(session: ImapSession, command: AuthenticateCommand) -> Reply:
    """RFC 3501 §6.2.2 with SASL-IR (RFC 4959): PLAIN (RFC 4616), EXTERNAL, and
    XOAUTH2/OAUTHBEARER (RFC 7628) when providers are configured."""
    _require_tls(session)
    mechanism = command.mechanism.upper()
    step: Callable[[bytes], Reply]
    if mechanism in BEARER_MECHANISMS and session.oauth is not None:
        from mss.imap.bearer_auth import bearer_step

        step = lambda response: bearer_step(session, mechanism, response)  # noqa: E731
    elif mechanism in ("PLAIN", "EXTERNAL"):
        chosen = _plain if mechanism == "PLAIN" else _external
        step = lambda response: chosen(session, response)  # noqa: E731
    else:
        raise ImapNo(ResponseCode.CANNOT, "Unsupported authentication mechanism")
    session.sasl_tag = command.tag
    if command.initial_response is None:
        session.await_sasl(step, command.tag)
        yield continuation("")
        return
    async for item in step(command.initial_response.encode("ascii")):
        yield item


def sasl_bytes(response: bytes) -> bytes:
    """RFC 4422 §5 (RFC 3501 §6.2.2): base64, ``=`` for an empty response."""
    if response == b"=":
        return b""
    try:
        return base64.b64decode(response, validate=True)
    except (binascii.Error, ValueError):
        raise ImapBad(None, "Invalid base64 in the SASL response") from None


async def _plain(session: ImapSession, response: bytes) -> Reply:
    """RFC 4616: authzid NUL authcid NUL password; authzid may name an ORG mailbox."""
    parts = sasl_bytes(response).split(b"\x00")
    principal = None
    if len(parts) == 3:
        try:
            authzid, authcid, password = (p.decode("utf-8") for p in parts)
        except UnicodeDecodeError:
            authzid = authcid = password = ""
        if authcid and password:
            principal = await authenticate(
                session.store, authcid, password, session.connection.client_address,
                authzid=authzid or None,
            )
    async for item in logged_in(session, principal, "PLAIN", authcid):
        yield item


async def _external(session: ImapSession, response: bytes) -> Reply:
    """RFC 4422 appendix A: the TLS client certificate, bound to a mailbox."""
    authzid = sasl_bytes(response).decode("utf-8", "replace").strip()
    der = session.connection.peer_certificate
    principal = None
    if der is not None:
        try:
            identity = identify_certificate(der)
            principal = await principal_for_certificate(
                session.store, subject_dn=identity.subject_dn,
                fingerprint_sha256=hashlib.sha256(der).hexdigest(),
            )
        except ValueError:
            principal = None
        own_mailbox = principal.mailbox if principal is not None else None
        if principal is not None and authzid and authzid.lower() != principal.mailbox:
            principal = await _acting_for(session, principal, authzid)
        if principal is not None and not principal_allows(
                session.store.settings.auth, principal, AuthMethod.CERTIFICATE,
                credential_mailbox=own_mailbox):
            principal = None
        await session.store.write(_audit_external(principal, session.connection, der))
    async for item in logged_in(session, principal, "EXTERNAL", authzid):
        yield item


async def _acting_for(session: ImapSession, principal: Principal,
                      org: str) -> Principal | None:
    if principal.kind is not PrincipalKind.PROFESSIONAL:
        return None
    if OrgRight.READ not in await rights_on_org(session.store, principal.ident, org):
        return None
    return Principal(principal.kind, principal.ident, principal.display_name, org.lower())


async def logged_in(session: ImapSession, principal: Principal | None, mechanism: str,
                    user: str) -> Reply:
    """The login's outcome, and its line (`auth.failed` for fail2ban: never the
    secret, the client address last, docs/logging.md)."""
    accesses = await mail_access_for(session.store, principal) if principal else []
    names = MailboxNames(accesses)
    client = session.connection.client_address
    if principal is None or names.personal is None:
        event(AuditAction.AUTH_FAILED, protocol="imap", mechanism=mechanism, user=user,
              client=client)
        raise ImapNo(ResponseCode.AUTHENTICATIONFAILED, AUTH_FAILED)
    event(AuditAction.AUTH_SUCCEEDED, protocol="imap", mechanism=mechanism, user=user,
          principal=principal.label(), mailbox=principal.mailbox, client=client)
    session.principal, session.names = principal, names
    session.state = State.AUTHENTICATED
    yield Done("Logged in", code_capability(session.capabilities()))


async def cmd_unauthenticate(session: ImapSession, command: Command) -> Reply:
    """RFC 8437: back to the not-authenticated state on the same connection; the
    mailbox is closed without expunging, ENABLEd extensions are forgotten (§3)."""
    await session.close()  # the mailbox, and what NOTIFY watched
    session.state = State.NOT_AUTHENTICATED
    session.principal, session.names = None, None
    session.condstore = session.qresync = session.imap4rev2 = False
    yield Done("UNAUTHENTICATE completed")


def _audit_external(
    principal: Principal | None, connection: Connection, der: bytes
) -> Callable[[UnitOfWork], Any]:
    fingerprint = hashlib.sha256(der).hexdigest()

    async def job(uow: UnitOfWork) -> None:
        if principal is None:
            uow.audit(AuditAction.AUTH_FAILED, "anonymous", target=f"sha256:{fingerprint}",
                      outcome=AuditOutcome.REFUSED,
                      detail=f"client={connection.client_address} imap external")
        else:
            uow.audit(AuditAction.AUTH_SUCCEEDED, principal,
                      target=principal.mailbox or "",
                      detail=f"client={connection.client_address} imap external")

    return job
