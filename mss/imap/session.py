"""The IMAP session state machine (RFC 3501 §3), sans-IO (docs/architecture.md §8.1).

The adapter feeds commands (`execute`), SASL lines (`sasl_response`), and during IDLE
waits on `next_change` then asks for `idle_updates`; every method yields response
bytes. The session never touches a socket; it talks to mail only through the store's
mail API and the directory.

Invariants:
- a command runs only in the states RFC 3501 §6 allows (else ``BAD``); LOGIN and
  AUTHENTICATE are refused before TLS (``NO [PRIVACYREQUIRED]``, RFC 3501 §6.2.3);
- every failure of authentication gets the same reply (no account enumeration); the
  `[auth]` policy is applied to certificates here, to passwords in the directory and to
  tokens in mss.oidc (XOAUTH2/OAUTHBEARER, offered only under TLS and with providers);
- untagged updates precede the tagged reply; EXPUNGE is never sent during FETCH,
  STORE or SEARCH (RFC 3501 §7.4.1), so sequence numbers stay what the client knows;
- a name, UID or folder outside the mailboxes the principal may open resolves to
  nothing (``NO [NONEXISTENT]``), never to data;
- reads of patient-related messages by professionals are audited, one write per
  command (docs/architecture.md §5, audit);
- a client certificate revoked since the handshake ends the session at its next command
  (``* BYE``, mss.certs.live_trust); AUTH=EXTERNAL is offered only to a client that
  presented a certificate (as Dovecot does: clients pick EXTERNAL when offered).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mss.certs import CertificateCheck, identify_certificate
from mss.directory.auth_policy import AuthMethod, principal_allows
from mss.directory.authentication import authenticate
from mss.directory.certificate_bindings import principal_for_certificate
from mss.directory.mail_access import folder_highest_modseq, mail_access_for
from mss.directory.org_members import rights_on_org
from mss.event_log import event
from mss.identity import OrgRight, Principal, PrincipalKind
from mss.imap.capabilities import BASE_CAPABILITIES, ENABLEABLE, Capability
from mss.imap.commands import (
    AuthenticateCommand,
    CancelUpdateCommand,
    Command,
    CompressCommand,
    EnableCommand,
    IdCommand,
)
from mss.imap.limits import ImapLimits
from mss.imap.namespaces import MailboxNames
from mss.imap.responses import (
    ImapBad,
    ImapNo,
    ImapResponseError,
    ResponseCode,
    code_capability,
    code_highest_modseq,
    continuation,
    render_nstring,
    tagged,
    untagged,
    untagged_status,
)
from mss.imap.search_results import RESULT_CHANGING, context_updates, resolve_saved
from mss.imap.selected import SelectedMailbox
from mss.oidc.bearer_login import BearerLogin
from mss.oidc.sasl import MECHANISMS as BEARER_MECHANISMS
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.faults import storage_fault
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

AUTH_FAILED = "Authentication failed"
CERTIFICATE_REFUSED = "Client certificate revoked or no longer trusted"
CertificateChecker = Callable[[bytes], CertificateCheck]
EXTRA_CAPABILITIES = (
    Capability.ESEARCH, Capability.SORT, Capability.ESORT, Capability.THREAD_REFERENCES,
    Capability.THREAD_ORDEREDSUBJECT, Capability.MULTIAPPEND, Capability.QUOTA,
    Capability.QUOTA_STORAGE, Capability.ACL,
    Capability.RIGHTS_TEKX, Capability.STATUS_SIZE, Capability.COMPRESS_DEFLATE,
    Capability.OBJECTID, Capability.UNAUTHENTICATE, Capability.SEARCHRES,
    Capability.CONTEXT_SEARCH, Capability.CONTEXT_SORT,
)


class State(Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


@dataclass(frozen=True, slots=True)
class Done:
    """The end of a command: the tagged status the dispatcher sends after updates."""

    text: str
    code: str | None = None
    status: str = "OK"


Reply = AsyncIterator[bytes | Done]

# Commands allowed per state (RFC 3501 §6.1-6.4 and extensions).
ANY_STATE = frozenset({"CAPABILITY", "NOOP", "LOGOUT", "ID"})
NOT_AUTHENTICATED_ONLY = frozenset({"STARTTLS", "LOGIN", "AUTHENTICATE"})
SELECTED_ONLY = frozenset({
    "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE",
    "SORT", "THREAD", "CANCELUPDATE",
})
UPDATES_WITHOUT_EXPUNGE = frozenset({"FETCH", "STORE", "SEARCH", "SORT", "THREAD"})


@dataclass(frozen=True, slots=True)
class Connection:
    """What the transport knows: the client's address and the TLS state."""

    client_address: str
    tls: bool = False
    peer_certificate: bytes | None = None  # DER, when the client presented one


class ImapSession:
    def __init__(
        self, store: Store, connection: Connection, *, limits: ImapLimits | None = None,
        hostname: str = "", oauth: BearerLogin | None = None,
        certificate_check: CertificateChecker | None = None,
    ) -> None:
        self.store = store
        self.oauth = oauth
        self.certificate_check = certificate_check  # revocation in force (None: not checked)
        self.connection = connection
        self.limits = limits or ImapLimits()
        self.hostname = hostname or store.settings.server.hostname
        self.state = State.NOT_AUTHENTICATED
        self.principal: Principal | None = None
        self.names: MailboxNames | None = None
        self.selected: SelectedMailbox | None = None
        self.condstore = False
        self.qresync = False  # RFC 7162 §3.2.3: VANISHED replaces EXPUNGE once enabled
        self.imap4rev2 = False  # RFC 9051 behaviours, once ENABLE IMAP4rev2
        self.start_tls_requested = False
        self.compress_requested = False  # RFC 4978: the adapter deflates after the OK
        self.compressing = False
        self.idling_tag: str | None = None
        self._sasl: Callable[[bytes], Reply] | None = None
        self._sasl_tag = ""

    # -- lifecycle ----------------------------------------------------------------

    def greeting(self) -> bytes:
        """RFC 3501 §7.1.1 with the capabilities (saves a round trip); `* BYE` to a
        client whose certificate is no longer acceptable (RFC 3501 §7.1.5)."""
        refusal = self._certificate_refusal()
        if refusal is not None:
            return refusal
        return untagged_status("OK", f"{self.hostname} MSS IMAP ready",
                               code_capability(self.capabilities()))

    def capabilities(self) -> list[str]:
        caps: list[str] = [str(c) for c in BASE_CAPABILITIES]
        if self.state is State.NOT_AUTHENTICATED:
            if self.connection.tls:
                caps.append(Capability.AUTH_PLAIN)
                if self.connection.peer_certificate is not None:
                    caps.append(Capability.AUTH_EXTERNAL)
                if self.oauth is not None:
                    caps += [Capability.AUTH_XOAUTH2, Capability.AUTH_OAUTHBEARER]
            else:
                caps += [Capability.STARTTLS, Capability.LOGINDISABLED]
        else:
            caps += [str(c) for c in EXTRA_CAPABILITIES]
        return caps

    def tls_started(self, peer_certificate: bytes | None) -> None:
        """After STARTTLS: the adapter completed the handshake (RFC 3501 §6.2.1)."""
        self.connection = Connection(self.connection.client_address, True, peer_certificate)
        self.start_tls_requested = False

    @property
    def recent_enabled(self) -> bool:
        """RFC 9051 §2.3.2 drops \\Recent: an IMAP4rev2 session neither sees nor claims it."""
        return not self.imap4rev2

    @property
    def awaiting_sasl(self) -> bool:
        return self._sasl is not None

    @property
    def finished(self) -> bool:
        return self.state is State.LOGOUT

    async def close(self) -> None:
        await self._deselect()

    # -- dispatch -----------------------------------------------------------------

    async def execute(self, command: Command) -> AsyncIterator[bytes]:
        """Run one command; yields untagged responses, updates, then the tagged reply."""
        name = command.name
        refusal = self._certificate_refusal()
        if refusal is not None:
            yield refusal
            return
        try:
            handler = self._handler(command)
            command = resolve_saved(self.selected, command)  # RFC 5182 ``$``
            async for item in handler(command):
                if isinstance(item, Done):
                    async for update in self.updates(name not in UPDATES_WITHOUT_EXPUNGE
                                                     or getattr(command, "uid", False),
                                                     name in RESULT_CHANGING):
                        yield update
                    yield tagged(command.tag, item.status, item.text, item.code)
                    return
                yield item
        except ImapResponseError as error:
            log.info("imap %s %s: %s", name, error.status, error.text)
            yield error.render(command.tag)
        except Exception as error:
            fault = storage_fault(error)
            if fault is None:
                log.exception("imap %s failed", name)
                yield tagged(command.tag, "NO", "Internal error, try again later",
                             ResponseCode.SERVERBUG)
                return
            # the operator's temporary trouble, not a bug: one line, and RFC 5530 §3
            # UNAVAILABLE so that the client retries later (mss.store.faults)
            log.warning("imap %s unavailable: %s (%s)", name, fault.value,
                        type(error).__name__)
            yield tagged(command.tag, "NO", "Service temporarily unavailable, try again later",
                         ResponseCode.UNAVAILABLE)

    def _certificate_refusal(self) -> bytes | None:
        """`* BYE` when the client's certificate is no longer acceptable; the session ends."""
        der = self.connection.peer_certificate
        if der is None or self.certificate_check is None:
            return None
        check = self.certificate_check(der)
        if check.ok:
            return None
        event(AuditAction.CERT_REFUSED, protocol="imap", client=self.connection.client_address,
              reason=check.reason, detail=check.detail)
        self.state = State.LOGOUT
        return untagged_status("BYE", CERTIFICATE_REFUSED)

    def _handler(self, command: Command) -> Callable[[Any], Reply]:
        name = command.name
        if self.state is State.LOGOUT:
            raise ImapBad(None, "Logging out")
        if name not in ANY_STATE:
            if self.state is State.NOT_AUTHENTICATED and name not in NOT_AUTHENTICATED_ONLY:
                raise ImapBad(None, f"{name} needs authentication first")
            if self.state is not State.NOT_AUTHENTICATED and name in NOT_AUTHENTICATED_ONLY:
                raise ImapBad(None, f"{name} is not allowed once authenticated")
            if name in SELECTED_ONLY and self.state is not State.SELECTED:
                raise ImapBad(None, f"{name} needs a selected mailbox")
        from mss.imap.command_table import HANDLERS

        handler = HANDLERS.get(name)
        if handler is None:
            raise ImapBad(None, f"{name} is not supported")
        return lambda command: handler(self, command)

    # -- updates (RFC 3501 §7.4.1, §5.2) ---------------------------------------------

    async def updates(self, allow_expunge: bool,
                      own_change: bool = False) -> AsyncIterator[bytes]:
        """Untagged updates of the selected mailbox, then the changes of the searches
        kept updated (RFC 5267 §4.3) when something changed."""
        selected = self.selected
        if selected is None:
            return
        selected.drain()
        changed = own_change
        if selected.pending():
            changed = True
            from mss.imap.mailbox_sync import synchronise

            for response in await synchronise(self, selected, allow_expunge):
                yield response
        if changed and selected.contexts:
            for line in await context_updates(self, selected):
                yield line

    async def next_change(self) -> None:
        """Wait until a change event for the selected mailbox arrives (for IDLE)."""
        if self.selected is None:
            import asyncio

            await asyncio.Event().wait()  # nothing to wait for: only DONE ends IDLE
            return
        self.selected.note(await self.selected.events.get())

    async def idle_updates(self) -> AsyncIterator[bytes]:
        async for update in self.updates(True):
            yield update

    async def end_idle(self, line: bytes) -> AsyncIterator[bytes]:
        """RFC 2177 §3: ``DONE`` ends IDLE; anything else is a protocol error."""
        tag = self.idling_tag or "*"
        self.idling_tag = None
        if line.strip().upper() != b"DONE":
            yield tagged(tag, "BAD", "Expected DONE")
            return
        async for update in self.updates(True):
            yield update
        yield tagged(tag, "OK", "IDLE terminated")

    # -- selection ------------------------------------------------------------------

    async def _deselect(self) -> None:
        selected, self.selected = self.selected, None
        if selected is not None:
            await selected.exit_stack.aclose()
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    async def select(self, selected: SelectedMailbox) -> None:
        await self._deselect()
        self.selected = selected
        self.state = State.SELECTED

    async def subscribe_events(self, stack: AsyncExitStack, mailbox_id: int) -> Any:
        return await stack.enter_async_context(self.store.bus.subscribe(mailbox_id))

    async def enable_condstore(self) -> list[bytes]:
        """A CONDSTORE-enabling command (RFC 7162 §3.1): the first one while a mailbox is
        selected is answered with ``OK [HIGHESTMODSEQ]`` besides its own results."""
        if self.condstore:
            return []
        self.condstore = True
        if self.selected is None:
            return []
        async with self.store.reading() as db:
            highest = await folder_highest_modseq(db, self.selected.folder_id)
        return [untagged_status("OK", "Highest", code_highest_modseq(highest))]

    # -- commands of any state ----------------------------------------------------------

    async def cmd_capability(self, command: Command) -> Reply:
        yield untagged(b"CAPABILITY", " ".join(self.capabilities()).encode("ascii"))
        yield Done("CAPABILITY completed")

    async def cmd_noop(self, command: Command) -> Reply:
        yield Done("NOOP completed")

    async def cmd_check(self, command: Command) -> Reply:
        yield Done("CHECK completed")  # RFC 3501 §6.4.1: every change is already durable

    async def cmd_logout(self, command: Command) -> Reply:
        if self.principal is not None:
            event(AuditAction.AUTH_LOGGED_OUT, protocol="imap",
                  principal=self.principal.label(), client=self.connection.client_address)
        yield untagged_status("BYE", "Logging out")
        await self._deselect()
        self.state = State.LOGOUT
        yield Done("LOGOUT completed")

    async def cmd_id(self, command: IdCommand) -> Reply:
        """RFC 2971: name the server, nothing that helps an attacker (no version)."""
        yield b'* ID ("name" "MSS" "vendor" "MSS")\r\n'
        yield Done("ID completed")

    async def cmd_enable(self, command: EnableCommand) -> Reply:
        """RFC 5161 §3.1: CONDSTORE, and QRESYNC which implies it (RFC 7162 §3.1, §3.2.3);
        IMAP4rev2 (RFC 9051 §6.3.1): no \\Recent, ESEARCH for SEARCH, UTF-8 names."""
        known = {str(e).upper(): str(e) for e in ENABLEABLE}
        enabled = list(dict.fromkeys(known[c.upper()] for c in command.capabilities
                                     if c.upper() in known))
        if {str(Capability.CONDSTORE), str(Capability.QRESYNC)} & set(enabled):
            for line in await self.enable_condstore():
                yield line
        if str(Capability.QRESYNC) in enabled:
            self.qresync = True
        if str(Capability.IMAP4REV2) in enabled:
            self.imap4rev2 = True
        yield b"* ENABLED" + b"".join(b" " + c.encode("ascii") for c in enabled) + b"\r\n"
        yield Done("ENABLE completed")

    async def cmd_cancelupdate(self, command: CancelUpdateCommand) -> Reply:
        """RFC 5267 §4.3: forget the searches kept updated under those tags."""
        assert self.selected is not None
        for tag in command.tags:
            self.selected.contexts.pop(tag, None)
        yield Done("CANCELUPDATE completed")

    async def cmd_unauthenticate(self, command: Command) -> Reply:
        """RFC 8437: back to the not-authenticated state on the same connection; the
        mailbox is closed without expunging, ENABLEd extensions are forgotten (§3)."""
        await self._deselect()
        self.state = State.NOT_AUTHENTICATED
        self.principal, self.names = None, None
        self.condstore = self.qresync = self.imap4rev2 = False
        yield Done("UNAUTHENTICATE completed")

    async def cmd_compress(self, command: CompressCommand) -> Reply:
        """RFC 4978 §3: DEFLATE from the byte after this tagged OK; once only."""
        if command.mechanism != "DEFLATE":
            raise ImapBad(None, f"Unknown compression mechanism {command.mechanism}")
        if self.compressing:
            raise ImapNo(ResponseCode.COMPRESSIONACTIVE, "Compression is already active")
        self.compress_requested = self.compressing = True
        yield Done("DEFLATE active")

    # -- not authenticated ----------------------------------------------------------------

    async def cmd_starttls(self, command: Command) -> Reply:
        if self.connection.tls:
            raise ImapBad(None, "TLS is already active")
        self.start_tls_requested = True
        yield Done("Begin TLS negotiation now")

    def _require_tls(self) -> None:
        if not self.connection.tls:
            raise ImapNo(ResponseCode.PRIVACYREQUIRED, "Use STARTTLS first")

    async def cmd_login(self, command: Any) -> Reply:
        self._require_tls()
        principal = await authenticate(self.store, command.username, command.password,
                                       self.connection.client_address)
        async for item in self._logged_in(principal, "LOGIN", command.username):
            yield item

    async def cmd_authenticate(self, command: AuthenticateCommand) -> Reply:
        """RFC 3501 §6.2.2 with SASL-IR (RFC 4959): PLAIN (RFC 4616), EXTERNAL, and
        XOAUTH2/OAUTHBEARER (RFC 7628) when providers are configured."""
        self._require_tls()
        mechanism = command.mechanism.upper()
        step: Callable[[bytes], Reply]
        if mechanism in BEARER_MECHANISMS and self.oauth is not None:
            from mss.imap.bearer_auth import bearer_step

            step = lambda response: bearer_step(self, mechanism, response)  # noqa: E731
        elif mechanism in ("PLAIN", "EXTERNAL"):
            step = self._plain if mechanism == "PLAIN" else self._external
        else:
            raise ImapNo(ResponseCode.CANNOT, "Unsupported authentication mechanism")
        self._sasl_tag = command.tag
        if command.initial_response is None:
            self._sasl, self._sasl_tag = step, command.tag
            yield continuation("")
            return
        async for item in step(command.initial_response.encode("ascii")):
            yield item

    async def sasl_response(self, line: bytes) -> AsyncIterator[bytes]:
        """The client's answer to the ``+`` of AUTHENTICATE."""
        step, tag = self._sasl, self._sasl_tag
        self._sasl = None
        assert step is not None
        if line.strip() == b"*":
            yield tagged(tag, "BAD", "Authentication cancelled")  # RFC 3501 §6.2.2
            return
        try:
            async for item in step(line.strip()):
                if isinstance(item, Done):
                    yield tagged(tag, item.status, item.text, item.code)
                else:
                    yield item
        except ImapResponseError as error:
            yield error.render(tag)

    @staticmethod
    def _sasl_bytes(response: bytes) -> bytes:
        if response == b"=":
            return b""
        try:
            return base64.b64decode(response, validate=True)
        except (binascii.Error, ValueError):
            raise ImapBad(None, "Invalid base64 in the SASL response") from None

    async def _plain(self, response: bytes) -> Reply:
        """RFC 4616: authzid NUL authcid NUL password; authzid may name an ORG mailbox."""
        parts = self._sasl_bytes(response).split(b"\x00")
        principal = None
        if len(parts) == 3:
            try:
                authzid, authcid, password = (p.decode("utf-8") for p in parts)
            except UnicodeDecodeError:
                authzid = authcid = password = ""
            if authcid and password:
                principal = await authenticate(
                    self.store, authcid, password, self.connection.client_address,
                    authzid=authzid or None,
                )
        async for item in self._logged_in(principal, "PLAIN", authcid):
            yield item

    async def _external(self, response: bytes) -> Reply:
        """RFC 4422 appendix A: the TLS client certificate, bound to a mailbox."""
        authzid = self._sasl_bytes(response).decode("utf-8", "replace").strip()
        der = self.connection.peer_certificate
        principal = None
        if der is not None:
            try:
                identity = identify_certificate(der)
                principal = await principal_for_certificate(
                    self.store, subject_dn=identity.subject_dn,
                    fingerprint_sha256=hashlib.sha256(der).hexdigest(),
                )
            except ValueError:
                principal = None
            own_mailbox = principal.mailbox if principal is not None else None
            if principal is not None and authzid and authzid.lower() != principal.mailbox:
                principal = await self._acting_for(principal, authzid)
            if principal is not None and not principal_allows(
                    self.store.settings.auth, principal, AuthMethod.CERTIFICATE,
                    credential_mailbox=own_mailbox):
                principal = None
            await self.store.write(_audit_external(principal, self.connection, der))
        async for item in self._logged_in(principal, "EXTERNAL", authzid):
            yield item

    async def _acting_for(self, principal: Principal, org: str) -> Principal | None:
        if principal.kind is not PrincipalKind.PROFESSIONAL:
            return None
        if OrgRight.READ not in await rights_on_org(self.store, principal.ident, org):
            return None
        return Principal(principal.kind, principal.ident, principal.display_name, org.lower())

    async def _logged_in(self, principal: Principal | None, mechanism: str,
                         user: str) -> Reply:
        """The login's outcome, and its line (`auth.failed` for fail2ban: never the
        secret, the client address last, docs/logging.md)."""
        accesses = await mail_access_for(self.store, principal) if principal else []
        names = MailboxNames(accesses)
        client = self.connection.client_address
        if principal is None or names.personal is None:
            event(AuditAction.AUTH_FAILED, protocol="imap", mechanism=mechanism, user=user,
                  client=client)
            raise ImapNo(ResponseCode.AUTHENTICATIONFAILED, AUTH_FAILED)
        event(AuditAction.AUTH_SUCCEEDED, protocol="imap", mechanism=mechanism, user=user,
              principal=principal.label(), mailbox=principal.mailbox, client=client)
        self.principal, self.names = principal, names
        self.state = State.AUTHENTICATED
        yield Done("Logged in", code_capability(self.capabilities()))


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


def render_id_value(value: str | None) -> bytes:
    return render_nstring(value)
