"""The DSN ESMTP parameters of MAIL and RCPT, and xtext (RFC 3461 §4).

MAIL takes `RET=FULL|HDRS` and `ENVID=<xtext>`; RCPT takes
`NOTIFY=NEVER|SUCCESS,FAILURE,DELAY` and `ORCPT=<addr-type>;<xtext>`. A malformed or
repeated value is answered `501 5.5.4` (RFC 3461 §4, RFC 3463 X.5.4); other parameters
(SIZE, BODY, SMTPUTF8, AUTH) are left to their own handlers.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mss.smtp.replies import SmtpReply

ENVID_MAX_LENGTH = 100  # RFC 3461 §4.4
ORCPT_MAX_LENGTH = 500  # RFC 3461 §4.2
_XTEXT = re.compile(r"^(?:[!-*,-<>-~]|\+[0-9A-F]{2})*$")  # RFC 3461 §4: xchar / hexchar
_ADDRESS_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")  # RFC 3461 §4.2: atom


class Notify(enum.StrEnum):
    """When the sender wants a DSN (RFC 3461 §4.1); NEVER is the empty set."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    DELAY = "DELAY"


class Ret(enum.StrEnum):
    """How much of the message a failure DSN returns (RFC 3461 §4.3)."""

    FULL = "FULL"
    HDRS = "HDRS"


@dataclass(frozen=True, slots=True)
class OriginalRecipient:
    """The ORCPT value: the address as the sender first gave it (RFC 3461 §4.2)."""

    address_type: str
    address: str

    def to_parameter(self) -> str:
        return f"ORCPT={self.address_type};{xtext_encode(self.address)}"


@dataclass(frozen=True, slots=True)
class MailDsnParameters:
    ret: Ret | None = None
    envid: str | None = None  # decoded

    def to_parameters(self) -> list[str]:
        """The MAIL parameters to pass on when relaying to a DSN-capable peer (RFC 3461 §5)."""
        parameters = []
        if self.ret is not None:
            parameters.append(f"RET={self.ret.value}")
        if self.envid is not None:
            parameters.append(f"ENVID={xtext_encode(self.envid)}")
        return parameters


@dataclass(frozen=True, slots=True)
class RcptDsnParameters:
    notify: frozenset[Notify] | None = None  # None: not given; empty: NEVER
    orcpt: OriginalRecipient | None = None

    def to_parameters(self) -> list[str]:
        parameters = []
        if self.notify is not None:
            names = [item.value for item in Notify if item in self.notify]
            parameters.append("NOTIFY=" + (",".join(names) if names else "NEVER"))
        if self.orcpt is not None:
            parameters.append(self.orcpt.to_parameter())
        return parameters


def _syntax_error(text: str) -> SmtpReply:
    return SmtpReply(501, "5.5.4", text)


def xtext_encode(text: str) -> str:
    """Encode as xtext: `+XX` for `+`, `=`, controls, space and non-ASCII octets (RFC 3461 §4)."""
    encoded = []
    for octet in text.encode("utf-8"):
        if 33 <= octet <= 126 and octet not in (ord("+"), ord("=")):
            encoded.append(chr(octet))
        else:
            encoded.append(f"+{octet:02X}")
    return "".join(encoded)


def xtext_decode(value: str) -> str:
    """Decode xtext; a bad `+` escape or a forbidden character is a 501 (RFC 3461 §4)."""
    if not _XTEXT.match(value):
        raise _syntax_error("Invalid xtext encoding")
    decoded = re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)
    try:
        return decoded.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError as error:
        raise _syntax_error("Invalid xtext encoding: not UTF-8") from error


def _split_options(options: Iterable[str], known: set[str]) -> dict[str, str]:
    """The known `KEY=value` options, upper-cased keys; a repeated or empty one is a 501."""
    found: dict[str, str] = {}
    for option in options:
        key, equals, value = option.partition("=")
        key = key.upper()
        if key not in known:
            continue
        if key in found:
            raise _syntax_error(f"Duplicate {key} parameter")
        if not equals or not value:
            raise _syntax_error(f"{key} parameter needs a value")
        found[key] = value
    return found


def parse_mail_dsn_parameters(options: Iterable[str]) -> MailDsnParameters:
    """RET and ENVID of a MAIL command (RFC 3461 §4.3, §4.4)."""
    found = _split_options(options, {"RET", "ENVID"})
    ret = None
    if "RET" in found:
        try:
            ret = Ret(found["RET"].upper())
        except ValueError as error:
            raise _syntax_error("RET must be FULL or HDRS") from error
    envid = None
    if "ENVID" in found:
        envid = xtext_decode(found["ENVID"])
        if len(envid) > ENVID_MAX_LENGTH:
            raise _syntax_error(f"ENVID longer than {ENVID_MAX_LENGTH} characters")
        if not envid.isascii() or not envid.isprintable():
            raise _syntax_error("ENVID must be printable US-ASCII")
    return MailDsnParameters(ret=ret, envid=envid)


def parse_notify(value: str) -> frozenset[Notify]:
    """`NEVER` alone, or a set of SUCCESS, FAILURE, DELAY (RFC 3461 §4.1)."""
    words = [word.strip().upper() for word in value.split(",")]
    if words == ["NEVER"]:
        return frozenset()
    try:
        chosen = [Notify(word) for word in words]
    except ValueError as error:
        raise _syntax_error("NOTIFY must be NEVER or SUCCESS, FAILURE, DELAY") from error
    if len(set(chosen)) != len(chosen):
        raise _syntax_error("NOTIFY repeats a keyword")
    return frozenset(chosen)


def parse_orcpt(value: str) -> OriginalRecipient:
    """`addr-type;xtext` (RFC 3461 §4.2); the address type is kept as given, lower-cased."""
    if len(value) > ORCPT_MAX_LENGTH:
        raise _syntax_error(f"ORCPT longer than {ORCPT_MAX_LENGTH} characters")
    address_type, semicolon, encoded = value.partition(";")
    if not semicolon or not _ADDRESS_TYPE.match(address_type) or not encoded:
        raise _syntax_error("ORCPT must be addr-type;xtext")
    return OriginalRecipient(address_type.lower(), xtext_decode(encoded))


def parse_rcpt_dsn_parameters(options: Iterable[str]) -> RcptDsnParameters:
    """NOTIFY and ORCPT of a RCPT command (RFC 3461 §4.1, §4.2)."""
    found = _split_options(options, {"NOTIFY", "ORCPT"})
    notify = parse_notify(found["NOTIFY"]) if "NOTIFY" in found else None
    orcpt = parse_orcpt(found["ORCPT"]) if "ORCPT" in found else None
    return RcptDsnParameters(notify=notify, orcpt=orcpt)
