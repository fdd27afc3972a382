"""Mailbox names as the client sees them: personal and shared namespaces (RFC 2342).

The principal's own mailbox (or the ORG mailbox it logged in to) is the personal
namespace, with folder names as stored. Every other ORG mailbox the principal may read
is under ``Partagé/<address>/`` (MSS choice), e.g. ``Partagé/cardiologie@x/INBOX``.
A name that resolves to no mailbox the principal may open is NONEXISTENT, whether the
mailbox exists or not: a client cannot probe for mailboxes it has no right to.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mss.directory.mail_access import MailAccess
from mss.imap.mutf7 import decode_mailbox_name
from mss.imap.responses import ImapNo, ResponseCode, render_string

SEPARATOR = "/"
SHARED_ROOT = "Partagé"
SHARED_PREFIX = SHARED_ROOT + SEPARATOR
INBOX = "INBOX"


def net_unicode(name: str) -> str:
    """The stored form of a mailbox name: Unicode NFC (Net-Unicode, RFC 5198 §2, as
    RFC 9051 §5.1 asks), so that "é" sent precomposed or as "e" and a combining accent
    (macOS clients send the latter) names one folder. Control characters never reach
    here: the parser refuses them."""
    return unicodedata.normalize("NFC", name)


@dataclass(frozen=True, slots=True)
class ResolvedName:
    access: MailAccess
    folder: str  # name in the store ("INBOX", "Sent", "Projets/2024")


class MailboxNames:
    """Maps client names to (mailbox, folder) and back, for one logged-in session."""

    def __init__(self, accesses: Iterable[MailAccess]) -> None:
        self.accesses = list(accesses)
        self.personal = next((a for a in self.accesses if not a.shared), None)
        self.shared = {a.address.lower(): a for a in self.accesses if a.shared}

    def resolve(self, name: str) -> ResolvedName:
        """The mailbox and folder a client name designates, or NO [NONEXISTENT]."""
        name = net_unicode(name)
        if name.upper() == INBOX:
            name = INBOX
        if name == SHARED_ROOT or name.startswith(SHARED_PREFIX):
            rest = name[len(SHARED_PREFIX):]
            address, _, folder = rest.partition(SEPARATOR)
            access = self.shared.get(address.lower())
            if access is None or not folder:
                raise nonexistent(name)
            if folder.upper() == INBOX:
                folder = INBOX
            return ResolvedName(access, folder)
        if self.personal is None or not name:
            raise nonexistent(name)
        return ResolvedName(self.personal, name)

    def client_name(self, access: MailAccess, folder: str) -> str:
        if not access.shared:
            return folder
        return f"{SHARED_PREFIX}{access.address}{SEPARATOR}{folder}"

    def quota_root(self, access: MailAccess) -> str:
        """RFC 9208: one quota root per mailbox; the personal one is ``""``."""
        return f"{SHARED_PREFIX}{access.address}" if access.shared else ""

    def access_for_root(self, root: str) -> MailAccess:
        with contextlib.suppress(ValueError):
            root = decode_mailbox_name(root.encode("ascii"))  # quota roots are names too
        if root == "" and self.personal is not None:
            return self.personal
        if root.startswith(SHARED_PREFIX):
            access = self.shared.get(root[len(SHARED_PREFIX):].lower())
            if access is not None:
                return access
        raise ImapNo(ResponseCode.NONEXISTENT, "No such quota root")

    def namespace_response(self) -> bytes:
        """``* NAMESPACE (("" "/")) NIL (("Partagé/" "/"))`` (RFC 2342 §5)."""
        personal = b'(("" "/"))' if self.personal is not None else b"NIL"
        shared = (
            b"((" + render_string(_mutf7(SHARED_PREFIX)) + b' "/"))' if self.shared else b"NIL"
        )
        return b"* NAMESPACE " + personal + b" NIL " + shared + b"\r\n"


def _mutf7(name: str) -> bytes:
    from mss.imap.mutf7 import encode_mailbox_name

    return encode_mailbox_name(name)


def nonexistent(name: str) -> ImapNo:
    return ImapNo(ResponseCode.NONEXISTENT, "No such mailbox")


def pattern_regex(reference: str, pattern: str) -> re.Pattern[str]:
    """RFC 3501 §6.3.8: ``*`` matches anything, ``%`` anything but the separator."""
    full = net_unicode(reference + pattern)  # names are stored in NFC
    parts = []
    for char in full:
        if char == "*":
            parts.append(".*")
        elif char == "%":
            parts.append("[^/]*")
        else:
            parts.append(re.escape(char))
    text = "".join(parts)
    if full.upper().startswith("INBOX"):
        return re.compile("(?i:INBOX)" + text[5:] + r"\Z", re.DOTALL)
    return re.compile(text + r"\Z", re.DOTALL)
