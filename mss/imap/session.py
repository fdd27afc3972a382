"""The IMAP session state machine (RFC 3501 §3), sans-IO (docs/architecture.md §8.1).

The adapter feeds commands (`execute`), SASL lines (`sasl_response`), and during IDLE
waits on `next_change` then asks for `idle_updates`; every method yields response
bytes. The session never touches a socket; it talks to mail only through the store's
mail API and the directory.

Invariants:
- a command runs only in the states RFC 3501 §6 allows (else ``BAD``); the handlers
  live with what they do: authentication in mss.imap.login_commands (refused before
  TLS, one reply for every failure), commands of any state in mss.imap.session_commands,
  mailboxes, messages and SORT/THREAD in their modules (mss.imap.command_table);
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

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mss.certs import CertificateCheck
from mss.event_log import event
from mss.identity import Principal
from mss.imap.capabilities import BASE_CAPABILITIES, Capability
from mss.imap.commands import (
    Command,
)
from mss.imap.errors import BadCharset, ImapParseError
from mss.imap.limits import ImapLimits
from mss.imap.namespaces import MailboxNames
from mss.imap.notify import NotifyState, notify_updates
from mss.imap.notify import stop as stop_notify
from mss.imap.responses import (
    ImapBad,
    ImapResponseError,
    ResponseCode,
    code_capability,
    code_highest_modseq,
    tagged,
    untagged_status,
)
from mss.imap.search_results import RESULT_CHANGING, context_updates, resolve_saved
from mss.imap.selected import SelectedMailbox
from mss.oidc.bearer_login import BearerLogin
from mss.store.audit_actions import AuditAction
from mss.store.events import ChangeEvent
from mss.store.faults import storage_fault
from mss.store.folder_reads import folder_highest_modseq
from mss.store.store import Store

log = logging.getLogger(__name__)

CERTIFICATE_REFUSED = "Client certificate revoked or no longer trusted"
CertificateChecker = Callable[[bytes], CertificateCheck]
EXTRA_CAPABILITIES = (
    Capability.ESEARCH, Capability.SORT, Capability.ESORT, Capability.THREAD_REFERENCES,
    Capability.THREAD_ORDEREDSUBJECT, Capability.MULTIAPPEND, Capability.QUOTA,
    Capability.QUOTA_STORAGE, Capability.ACL,
    Capability.RIGHTS_TEKX, Capability.STATUS_SIZE, Capability.COMPRESS_DEFLATE,
    Capability.OBJECTID, Capability.UNAUTHENTICATE, Capability.SEARCHRES,
    Capability.CONTEXT_SEARCH, Capability.CONTEXT_SORT, Capability.CATENATE,
    Capability.NOTIFY, Capability.SAVEDATE,
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
        self.notify: NotifyState | None = None  # RFC 5465, once NOTIFY SET
        self._sasl: Callable[[bytes], Reply] | None = None
        self.sasl_tag = ""

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
        await self.deselect()
        await stop_notify(self)

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

    def refused(self, error: ImapParseError) -> None:
        """A command refused before it ran: a SEARCH, SORT or THREAD with ``RETURN
        (SAVE)`` answered NO (an unknown charset) leaves the saved result empty; one
        answered BAD leaves it as it was (RFC 5182 §2.1)."""
        if isinstance(error, BadCharset) and error.saves_result and self.selected is not None:
            self.selected.saved_result = []

    def await_sasl(self, step: Callable[[bytes], Reply], tag: str) -> None:
        """AUTHENTICATE sent ``+``: the next line is the client's SASL response."""
        self._sasl, self.sasl_tag = step, tag

    async def sasl_response(self, line: bytes) -> AsyncIterator[bytes]:
        """The client's answer to the ``+`` of AUTHENTICATE."""
        step, tag = self._sasl, self.sasl_tag
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
        for line in await notify_updates(self):
            yield line
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
        """Wait until a change event for the selected mailbox, or for a mailbox NOTIFY
        watches, arrives (for IDLE)."""
        selected, notify = self.selected, self.notify
        waits: list[asyncio.Task[ChangeEvent]] = []
        if selected is not None:
            waits.append(asyncio.ensure_future(selected.events.get()))
        if notify is not None:
            waits.append(asyncio.ensure_future(notify.events.get()))
        if not waits:
            await asyncio.Event().wait()  # nothing to wait for: only DONE ends IDLE
            return
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()  # a get() cancelled before it returns leaves the event queued
        if selected is not None and waits[0] in done:
            selected.note(waits[0].result())
        if notify is not None and waits[-1] in done:
            notify.pending.append(waits[-1].result())

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

    async def deselect(self) -> None:
        selected, self.selected = self.selected, None
        if selected is not None:
            await selected.exit_stack.aclose()
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    async def select(self, selected: SelectedMailbox) -> None:
        await self.deselect()
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
