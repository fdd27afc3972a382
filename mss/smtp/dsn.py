"""Delivery status notifications (RFC 3464, RFC 3461 §6): when to send one, and its bytes.

A DSN is a `multipart/report; report-type=delivery-status` (RFC 6522): a human part
(French first, then English, as every MSS refusal), the `message/delivery-status` part,
and the original message (`message/rfc822`) or only its header (`text/rfc822-headers`).

Invariants:
- a DSN is sent from the null reverse path `<>` (RFC 5321 §4.5.5); the caller does that;
- never a DSN about a message whose MAIL FROM was `<>` (RFC 5321 §4.5.5, RFC 3461
  §6.2: no loops of notifications); `should_send_dsn` says so, `build_dsn` refuses;
- without RET, MSS returns the header only (RFC 3461 §4.3 leaves it to the MTA; health
  content is not copied into a notification unless the sender asked) (MSS choice); with
  RET=FULL, a message over `full_size_limit` is returned as its header too, as Postfix
  does with `bounce_size_limit`.
"""

from __future__ import annotations

import hashlib
import quopri
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email import policy as email_policy
from email.header import Header
from email.utils import format_datetime, formataddr
from typing import Literal

from mss.smtp.dsn_parameters import Notify, OriginalRecipient, Ret, xtext_encode

DsnAction = Literal["failed", "delayed", "delivered", "relayed", "expanded"]
# RFC 3464 §2.3.3 / §2.3.4: the status classes each action goes with. "failed" takes 4
# too: a message that expired after transient failures reports its last status (e.g.
# 4.4.7 delivery time expired, RFC 3463), as Postfix does.
STATUS_CLASSES_OF_ACTION: dict[str, str] = {
    "failed": "45", "delayed": "4", "delivered": "2", "relayed": "2", "expanded": "2",
}
DEFAULT_FULL_SIZE_LIMIT = 50_000  # octets; Postfix bounce_size_limit default
NULL_REVERSE_PATHS = frozenset({"", "<>"})


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """The per-recipient fields of a DSN (RFC 3464 §2.3)."""

    final_recipient: str
    action: DsnAction
    status: str  # e.g. "5.1.1" (RFC 3463)
    diagnostic: str | None = None  # e.g. "smtp; 550 5.1.1 Recipient address unknown"
    original_recipient: OriginalRecipient | None = None
    remote_mta: str | None = None
    last_attempt: datetime | None = None
    will_retry_until: datetime | None = None  # only for "delayed"

    def __post_init__(self) -> None:
        parts = self.status.split(".")
        valid = len(parts) == 3 and all(part.isdigit() and len(part) <= 3 for part in parts)
        if not valid or parts[0] not in STATUS_CLASSES_OF_ACTION.get(self.action, ""):
            raise ValueError(f"status {self.status!r} does not fit action {self.action!r}")


def is_null_reverse_path(envelope_from: str | None) -> bool:
    return envelope_from is None or envelope_from.strip() in NULL_REVERSE_PATHS


def should_send_dsn(
    envelope_from: str | None, action: DsnAction, notify: frozenset[Notify] | None
) -> bool:
    """Whether this event gets a DSN (RFC 3461 §4.1, §6.1; RFC 5321 §4.5.5).

    Without NOTIFY, MSS reports failures and delays (RFC 3461 §4.1 allows
    FAILURE or FAILURE,DELAY as the default) (MSS choice); success only on request.
    """
    if is_null_reverse_path(envelope_from):
        return False
    if action == "failed":
        return notify is None or Notify.FAILURE in notify
    if action == "delayed":
        return notify is None or Notify.DELAY in notify
    return notify is not None and Notify.SUCCESS in notify


def ascii_text(text: str) -> str:
    """US-ASCII for the delivery-status fields (RFC 3464 §2.1.1): accents dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "".join(
        char if " " <= char <= "~" else ("?" if char not in "\r\n\t" else " ")
        for char in stripped
    )


def _field(name: str, value: str) -> str:
    """`Name: value` folded at white space under 78 columns (RFC 5322 §2.2.3)."""
    lines = textwrap.wrap(
        f"{name}: {value}", width=76, break_long_words=False, break_on_hyphens=False
    )
    return "\r\n ".join(lines) + "\r\n"


def _message_header(raw: bytes) -> bytes:
    """The header section of `raw`, with its final CRLF but not the empty line."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end != -1:
            return raw[: end + len(separator) // 2]
    return raw if raw.endswith(b"\n") else raw + b"\r\n"


def _original_subject(raw: bytes) -> str:
    header = message_from_bytes(_message_header(raw), policy=email_policy.default)
    return str(header.get("Subject", ""))


_HUMAN_TEXT = {
    "failed": (
        "Votre message n'a pas pu être remis aux destinataires suivants. Il a été refusé "
        "définitivement : le renvoyer tel quel ne le fera pas parvenir. Vérifiez l'adresse "
        "ou contactez le destinataire par un autre moyen.",
        "Your message could not be delivered to the recipients below. It was refused "
        "permanently: sending it again unchanged will not help. Check the address or "
        "reach the recipient another way.",
    ),
    "delayed": (
        "Votre message n'a pas encore pu être remis aux destinataires suivants. Le "
        "système continue d'essayer ; vous n'avez rien à faire pour l'instant.",
        "Your message has not yet been delivered to the recipients below. The system "
        "keeps trying; there is nothing you need to do yet.",
    ),
    "delivered": (
        "Votre message a été remis aux destinataires suivants.",
        "Your message was delivered to the recipients below.",
    ),
    "relayed": (
        "Votre message a été transmis aux destinataires suivants, vers un système qui "
        "ne renvoie pas d'avis de remise.",
        "Your message was relayed to the recipients below, to a system that does not "
        "send delivery notifications.",
    ),
    "expanded": (
        "Votre message a été remis à une liste, redistribuée aux destinataires suivants.",
        "Your message was delivered to a list, expanded to the recipients below.",
    ),
}
_SUBJECTS = {
    "failed": "Non remis / Undelivered Mail Returned to Sender",
    "delayed": "Remise retardée / Delayed Mail (still being retried)",
    "delivered": "Remis / Successful Mail Delivery Report",
    "relayed": "Transmis / Relayed Mail Delivery Report",
    "expanded": "Remis / Successful Mail Delivery Report",
}
_SEVERITY = ("failed", "delayed", "relayed", "expanded", "delivered")


def _listing(recipients: Sequence[RecipientStatus], colon: str) -> str:
    return "\n".join(
        f"  <{status.final_recipient}>"
        + (f"{colon}{status.diagnostic}" if status.diagnostic else "")
        for status in recipients
    )


def _human_part(reporting_mta: str, subject: str, recipients: Sequence[RecipientStatus]) -> str:
    """The French then English explanation, one paragraph per kind of outcome."""
    french = [f"Ceci est le système de messagerie de {reporting_mta}."]
    english = [f"This is the mail system at {reporting_mta}."]
    if subject:
        french.append(f"Message : « {subject} »")
        english.append(f"Message: \"{subject}\"")
    for action in _SEVERITY:
        concerned = [status for status in recipients if status.action == action]
        if not concerned:
            continue
        french_text, english_text = _HUMAN_TEXT[action]
        french += [textwrap.fill(french_text, 76), _listing(concerned, " : ")]
        english += [textwrap.fill(english_text, 76), _listing(concerned, ": ")]
    return "\n\n".join([*french, "-" * 40, *english]) + "\n"


def _delivery_status(
    reporting_mta: str,
    envid: str | None,
    arrival_date: datetime | None,
    recipients: Sequence[RecipientStatus],
) -> str:
    """The `message/delivery-status` body (RFC 3464 §2.1–§2.3)."""
    blocks = []
    per_message = _field("Reporting-MTA", f"dns; {reporting_mta}")
    if envid is not None:
        per_message += _field("Original-Envelope-Id", xtext_encode(envid))
    if arrival_date is not None:
        per_message += _field("Arrival-Date", format_datetime(arrival_date))
    blocks.append(per_message)
    for status in recipients:
        fields = ""
        if status.original_recipient is not None:
            original = status.original_recipient
            fields += _field(
                "Original-Recipient", f"{original.address_type}; {ascii_text(original.address)}"
            )
        fields += _field("Final-Recipient", f"rfc822; {ascii_text(status.final_recipient)}")
        fields += _field("Action", status.action)
        fields += _field("Status", status.status)
        if status.remote_mta:
            fields += _field("Remote-MTA", f"dns; {ascii_text(status.remote_mta)}")
        if status.diagnostic:
            fields += _field("Diagnostic-Code", ascii_text(status.diagnostic))
        if status.last_attempt is not None:
            fields += _field("Last-Attempt-Date", format_datetime(status.last_attempt))
        if status.will_retry_until is not None and status.action == "delayed":
            fields += _field("Will-Retry-Until", format_datetime(status.will_retry_until))
        blocks.append(fields)
    return "\r\n".join(blocks)


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def build_dsn(
    *,
    original: bytes,
    envelope_from: str,
    reporting_mta: str,
    recipients: Sequence[RecipientStatus],
    now: datetime,
    envid: str | None = None,
    ret: Ret | None = None,
    arrival_date: datetime | None = None,
    full_size_limit: int = DEFAULT_FULL_SIZE_LIMIT,
) -> bytes:
    """The DSN message, CRLF line ends, to be sent from `<>` to `envelope_from`.

    `recipients` are the ones this DSN reports on; the caller has filtered them with
    `should_send_dsn`.
    """
    if is_null_reverse_path(envelope_from):
        raise ValueError("no DSN about a message sent from the null reverse path")
    if not recipients:
        raise ValueError("a DSN reports on at least one recipient")
    headers_only = ret != Ret.FULL or len(original) > full_size_limit
    worst = next(action for action in _SEVERITY if any(r.action == action for r in recipients))
    digest = hashlib.sha256(
        original + repr((envelope_from, recipients, now.isoformat())).encode()
    ).hexdigest()

    human = quopri.encodestring(
        _human_part(reporting_mta, _original_subject(original), recipients).encode("utf-8")
    ).decode("ascii")
    status = _delivery_status(reporting_mta, envid, arrival_date, recipients)
    if headers_only:
        returned_type, returned = "text/rfc822-headers", _message_header(original)
    else:
        returned_type, returned = "message/rfc822", original
    eight_bit = any(octet > 127 for octet in returned)

    boundary = f"=_mss-dsn-{digest[:24]}"
    counter = 0
    while boundary.encode() in original:
        counter += 1
        boundary = f"=_mss-dsn-{digest[:24]}-{counter}"

    sender = formataddr(
        ("Système de messagerie / Mail Delivery System", f"MAILER-DAEMON@{reporting_mta}"),
        charset="utf-8",
    )
    subject = _SUBJECTS[worst]
    if not subject.isascii():
        subject = Header(subject, "utf-8").encode(linesep="\r\n")  # RFC 2047
    head = (
        f"From: {sender}\r\n"
        f"To: <{envelope_from}>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {format_datetime(now)}\r\n"
        f"Message-ID: <{digest[:32]}.dsn@{reporting_mta}>\r\n"
        "Auto-Submitted: auto-replied\r\n"  # RFC 3834 §5
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f' boundary="{boundary}"\r\n'
        "\r\n"
        "This is a MIME-encapsulated delivery status notification.\r\n"
        f"\r\n--{boundary}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "Content-Description: Notification\r\n"
        "\r\n"
        f"{_crlf(human)}"
        f"\r\n--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n"
        "Content-Description: Delivery report\r\n"
        "\r\n"
        f"{status}"
        f"\r\n--{boundary}\r\n"
        f"Content-Type: {returned_type}\r\n"
        + ("Content-Transfer-Encoding: 8bit\r\n" if eight_bit else "")
        + "Content-Description: Original message\r\n"
        "\r\n"
    ).encode("utf-8")  # ASCII but for an SMTPUTF8 envelope sender (RFC 6532)
    ending = b"" if returned.endswith(b"\n") else b"\r\n"
    return head + returned + ending + f"\r\n--{boundary}--\r\n".encode("ascii")
