"""Commands of any state and of the session itself (RFC 3501 §6.1, §6.4.1): CAPABILITY,
NOOP, CHECK, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161), COMPRESS (RFC 4978) and
CANCELUPDATE (RFC 5267 §4.3), sans-IO."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mss.event_log import event
from mss.imap.capabilities import ENABLEABLE, Capability
from mss.imap.commands import (
    CancelUpdateCommand,
    Command,
    CompressCommand,
    EnableCommand,
    IdCommand,
)
from mss.imap.responses import (
    ImapBad,
    ImapNo,
    ResponseCode,
    render_nstring,
    untagged,
    untagged_status,
)
from mss.imap.session import Done, Reply, State
from mss.store.audit_actions import AuditAction

if TYPE_CHECKING:
    from mss.imap.session import ImapSession

async def cmd_capability(session: ImapSession, command: Command) -> Reply:
    yield untagged(b"CAPABILITY", " ".join(session.capabilities()).encode("ascii"))
    yield Done("CAPABILITY completed")


async def cmd_noop(session: ImapSession, command: Command) -> Reply:
    yield Done("NOOP completed")


async def cmd_check(session: ImapSession, command: Command) -> Reply:
    yield Done("CHECK completed")  # RFC 3501 §6.4.1: every change is already durable


async def cmd_logout(session: ImapSession, command: Command) -> Reply:
    if session.principal is not None:
        event(AuditAction.AUTH_LOGGED_OUT, protocol="imap",
              principal=session.principal.label(), client=session.connection.client_address)
    yield untagged_status("BYE", "Logging out")
    await session.deselect()
    session.state = State.LOGOUT
    yield Done("LOGOUT completed")


async def cmd_id(session: ImapSession, command: IdCommand) -> Reply:
    """RFC 2971: name the server, nothing that helps an attacker (no version)."""
    yield b'* ID ("name" "MSS" "vendor" "MSS")\r\n'
    yield Done("ID completed")


async def cmd_enable(session: ImapSession, command: EnableCommand) -> Reply:
    """RFC 5161 §3.1: CONDSTORE, and QRESYNC which implies it (RFC 7162 §3.1, §3.2.3);
    IMAP4rev2 (RFC 9051 §6.3.1): no \\Recent, ESEARCH for SEARCH, UTF-8 names."""
    known = {str(e).upper(): str(e) for e in ENABLEABLE}
    enabled = list(dict.fromkeys(known[c.upper()] for c in command.capabilities
                                 if c.upper() in known))
    if {str(Capability.CONDSTORE), str(Capability.QRESYNC)} & set(enabled):
        for line in await session.enable_condstore():
            yield line
    if str(Capability.QRESYNC) in enabled:
        session.qresync = True
    if str(Capability.IMAP4REV2) in enabled:
        session.imap4rev2 = True
    yield b"* ENABLED" + b"".join(b" " + c.encode("ascii") for c in enabled) + b"\r\n"
    yield Done("ENABLE completed")


async def cmd_cancelupdate(session: ImapSession, command: CancelUpdateCommand) -> Reply:
    """RFC 5267 §4.3: forget the searches kept updated under those tags."""
    assert session.selected is not None
    for tag in command.tags:
        session.selected.contexts.pop(tag, None)
    yield Done("CANCELUPDATE completed")


async def cmd_compress(session: ImapSession, command: CompressCommand) -> Reply:
    """RFC 4978 §3: DEFLATE from the byte after this tagged OK; once only."""
    if command.mechanism != "DEFLATE":
        raise ImapBad(None, f"Unknown compression mechanism {command.mechanism}")
    if session.compressing:
        raise ImapNo(ResponseCode.COMPRESSIONACTIVE, "Compression is already active")
    session.compress_requested = session.compressing = True
    yield Done("DEFLATE active")


def render_id_value(value: str | None) -> bytes:
    return render_nstring(value)
