"""Trace fields MSS adds to a message it receives: Received and Authentication-Results.

Received follows RFC 5321 §4.4 (the "Stamp" grammar) with the RFC 3848 transmission
types; TLS details go in a comment as Postfix writes them. No reverse DNS is done (the
trust space identifies peers by certificate, not by name), so the TCP-info is the address
literal alone. The `for` clause is written only for a single recipient: with several it
would disclose Bcc recipients to each other (RFC 5321 §7.2).

Authentication-Results follows RFC 8601; any such field already carrying our authserv-id
on an incoming message is a forgery and is removed before ours is added (RFC 8601 §5).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import format_datetime
from functools import lru_cache

from mss.smtp.dkim_signatures import DkimResult

# RFC 3848 §2 (and §3 for LMTP): the WITH protocol types.
TRANSMISSION_TYPES = frozenset(
    {"SMTP", "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA", "LMTP", "LMTPA", "LMTPS", "LMTPSA"}
)
SOFTWARE_NAME = "MSS"
FOLD = "\r\n\t"

_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)  # RFC 5321 §4.1.2 Domain
_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")  # RFC 5322 §3.2.3 (dot-atom-text)
_TOKEN = re.compile(r"^[A-Za-z0-9._+/=-]+$")  # TLS version and cipher names
_AR_FIELD = re.compile(rb"^authentication-results[ \t]*:", re.IGNORECASE)
_AR_NAME = b"authentication-results"
_AR_FIELD_AT = re.compile(rb"authentication-results[ \t]*:", re.IGNORECASE)  # at a line start
_VALUE_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`{|}~-]+$")  # RFC 8601 §2.2 (RFC 2045)
_SPECIALS = re.compile(r"([()\\])")
PEERS = 256  # values kept per peer (its address, HELO, DN): a peer sends many messages


def transmission_type(*, esmtp: bool, tls: bool, authenticated: bool) -> str:
    """The RFC 3848 keyword: ESMTP, plus S under TLS, plus A when the client authenticated."""
    base = "ESMTP" if esmtp else "SMTP"
    if not esmtp:
        return base
    return base + ("S" if tls else "") + ("A" if authenticated else "")


@lru_cache(PEERS)
def address_literal(ip: str) -> str:
    """RFC 5321 §4.1.3: `[192.0.2.1]` or `[IPv6:2001:db8::1]`."""
    parsed = ipaddress.ip_address(ip)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"[{parsed.ipv4_mapped}]"
        return f"[IPv6:{parsed.compressed}]"
    return f"[{parsed}]"


def _is_helo_literal(helo: str) -> bool:
    if not (helo.startswith("[") and helo.endswith("]")):
        return False
    inner = helo[1:-1]
    if inner[:5].lower() == "ipv6:":
        inner = inner[5:]
    try:
        ipaddress.ip_address(inner)
    except ValueError:
        return False
    return True


def _comment_text(text: str, limit: int = 255) -> str:
    """Printable ASCII for a comment, with `(`, `)` and `\\` quoted (RFC 5322 §3.2.2)."""
    printable = "".join(char if " " <= char <= "~" else "?" for char in text[:limit])
    return _SPECIALS.sub(r"\\\1", printable)


def received_header(
    *,
    from_helo: str,
    from_ip: str,
    by_host: str,
    protocol: str,
    queue_id: str,
    now: datetime,
    tls_version: str | None = None,
    cipher: str | None = None,
    for_rcpt: str | None = None,
    authenticated_sender: str | None = None,
) -> str:
    """The Received field, folded, ending with CRLF (RFC 5321 §4.4).

    `authenticated_sender` (submission) names who authenticated, in a comment as
    Postfix writes it (`(Authenticated sender: ...)`): the trace says who sent it.

    A HELO that is neither a domain nor an address literal is not trusted into the
    grammar: the peer's address literal stands in for it and the HELO goes in a comment.
    """
    if protocol not in TRANSMISSION_TYPES:
        raise ValueError(f"not an RFC 3848 transmission type: {protocol!r}")
    if not _DOMAIN.match(by_host):
        raise ValueError(f"by-host is not a domain: {by_host!r}")
    if not _ATOM.match(queue_id):
        raise ValueError(f"queue id is not an atom: {queue_id!r}")
    if now.tzinfo is None:
        raise ValueError("the time stamp needs a time zone")
    lines = list(_from_clauses(from_helo, from_ip, tls_version, cipher, authenticated_sender))
    lines.append(f"by {by_host} ({SOFTWARE_NAME}) with {protocol} id {queue_id}")
    stamp = _stamp(now)
    if for_rcpt is not None:
        if any(char in for_rcpt for char in "<>\r\n \t"):
            raise ValueError(f"not a mailbox: {for_rcpt!r}")
        lines.append(f"for <{for_rcpt}>; {stamp}")
    else:
        lines[-1] += f"; {stamp}"
    return FOLD.join(lines) + "\r\n"


@lru_cache(PEERS)
def _from_clauses(from_helo: str, from_ip: str, tls_version: str | None, cipher: str | None,
                  authenticated_sender: str | None) -> tuple[str, ...]:
    """The lines of `received_header` before `by`, which depend on the session only
    (kept per session's values; a refusal, ValueError, is raised again each time)."""
    literal = address_literal(from_ip)
    if _DOMAIN.match(from_helo) or _is_helo_literal(from_helo):
        lines = [f"Received: from {from_helo} ({literal})"]
    else:
        lines = [f"Received: from {literal} ({literal})", f"(HELO {_comment_text(from_helo)})"]
    if tls_version or cipher:
        for value in (tls_version, cipher):
            if value is not None and not _TOKEN.match(value):
                raise ValueError(f"not a TLS name: {value!r}")
        lines.append(f"(using {tls_version or 'TLS'} with cipher {cipher or 'unknown'})")
    if authenticated_sender:
        lines.append(f"(Authenticated sender: {_comment_text(authenticated_sender)})")
    return tuple(lines)


_last_stamp: tuple[tuple[datetime, timezone], str] | None = None


def _stamp(now: datetime) -> str:
    """`format_datetime(now)`, kept for the last second stamped: it reads the wall time
    to the second and the offset only, and many messages arrive in one second. Kept for
    fixed offsets only (`timezone`: its offset is the same at any time)."""
    global _last_stamp
    zone = now.tzinfo
    if type(zone) is not timezone:
        return format_datetime(now)
    key = (now.replace(microsecond=0, tzinfo=None), zone)
    last = _last_stamp
    if last is not None and last[0] == key:
        return last[1]
    stamp = format_datetime(now)
    _last_stamp = (key, stamp)
    return stamp


@lru_cache(PEERS)
def _quoted_value(text: str) -> str:
    """An RFC 8601 §2.2 value: a token if it is one, else a quoted-string (kept per text:
    a peer's DN is quoted for each of its messages)."""
    if text and _VALUE_TOKEN.match(text):
        return text
    printable = "".join(char if " " <= char <= "~" else "?" for char in text)
    return '"' + printable.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quoted_value(text: str) -> str:
    """An RFC 8601 §2.2 property value: a token if it is one, else a quoted-string."""
    return _quoted_value(text)


def dkim_resinfo(dkim: DkimResult) -> str:
    """`dkim=pass reason=... header.d=... header.s=...` (RFC 8601 §2.7.1, IANA ptypes)."""
    parts = [f"dkim={dkim.result}"]
    if dkim.reason:
        parts.append(f"reason={_quoted_value(dkim.reason)}")
    if dkim.domain:
        parts.append(f"header.d={_quoted_value(dkim.domain)}")
    if dkim.selector:
        parts.append(f"header.s={_quoted_value(dkim.selector)}")
    return " ".join(parts)


def authentication_results(
    authserv_id: str, dkim: DkimResult, extra: Sequence[str] = ()
) -> str:
    """The Authentication-Results field, folded, ending with CRLF (RFC 8601 §2.2).

    `extra` holds further resinfo clauses already formatted, e.g. `x-mss-peer=pass
    header.dn="CN=..."` for the peer-certificate check (RFC 8601 §2.7.6: x- methods).
    Kept per values: a peer's messages carry the same results.
    """
    return _authentication_results(authserv_id, dkim, tuple(extra))


@lru_cache(PEERS)
def _authentication_results(authserv_id: str, dkim: DkimResult, extra: tuple[str, ...]) -> str:
    if not _DOMAIN.match(authserv_id):
        raise ValueError(f"authserv-id is not a domain: {authserv_id!r}")
    clauses = [dkim_resinfo(dkim), *extra]
    for clause in clauses:
        if any(char in clause for char in "\r\n;") or not clause.isascii():
            raise ValueError(f"not a single resinfo: {clause!r}")
    return f"Authentication-Results: {authserv_id};{FOLD}" + f";{FOLD}".join(clauses) + "\r\n"


def _skip_comments(value: str) -> str:
    """Drop leading whitespace and (nested) comments (RFC 5322 §3.2.2 CFWS)."""
    index, depth = 0, 0
    while index < len(value):
        char = value[index]
        if depth == 0 and char in " \t\r\n":
            index += 1
        elif char == "(":
            depth += 1
            index += 1
        elif depth and char == "\\":
            index += 2
        elif depth and char == ")":
            depth -= 1
            index += 1
        elif depth:
            index += 1
        else:
            break
    return value[index:]


def claimed_authserv_id(field_value: str) -> str:
    """The authserv-id an Authentication-Results value claims (token or quoted-string)."""
    value = _skip_comments(field_value)
    if value.startswith('"'):
        match = _QUOTED_ID.match(value)
        return _QUOTED_PAIR.sub(r"\1", match.group(1)) if match else ""
    match = _TOKEN_ID.match(value)
    return match.group(0) if match else ""


_QUOTED_ID = re.compile(r'^"((?:[^"\\]|\\.)*)"')
_QUOTED_PAIR = re.compile(r"\\(.)")
_TOKEN_ID = re.compile(r"^[^\s;()]+")


def split_header_fields(raw: bytes) -> tuple[list[bytes], bytes]:
    """The header fields of `raw` (each with its continuation lines and line end), and the
    rest (the empty line and the body) (RFC 5322 §2.2.3)."""
    fields: list[bytes] = []
    position = 0
    while position < len(raw):
        end = raw.find(b"\n", position)
        line_end = len(raw) if end == -1 else end + 1
        line = raw[position:line_end]
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
        position = line_end
    return fields, raw[position:]


def remove_forged_authentication_results(raw: bytes, authserv_id: str) -> bytes:
    """Drop every Authentication-Results field claiming our authserv-id (RFC 8601 §5).

    Fields of other authserv-ids stay: they are the sender's own trace, for whoever
    trusts that sender.

    The fields of `split_header_fields` without splitting them all: the header ends at
    its first empty line, a field starts at a line start (after LF) that is no
    continuation (SP, HT), so each field `_AR_FIELD` matches is found by its name at a
    line start, and runs to the next line that starts with neither; a message without
    one is `raw`.
    """
    end = _header_end(raw)
    lowered = raw[:end].lower()  # ASCII only, as IGNORECASE for bytes
    ours = authserv_id.lower()
    kept: list[bytes] = []
    position = 0
    start = lowered.find(_AR_NAME)
    while start >= 0:
        stop = start + len(_AR_NAME)
        if (start == 0 or lowered[start - 1] == 0x0A) and _AR_FIELD_AT.match(raw, start, end):
            stop = _field_end(raw, start, end)
            value = raw[start:stop].split(b":", 1)[1].decode("ascii", "replace")
            if claimed_authserv_id(value).lower() == ours:
                kept.append(raw[position:start])
                position = stop
        start = lowered.find(_AR_NAME, stop)
    if not kept:
        return raw
    kept.append(raw[position:])
    return b"".join(kept)


def _header_end(raw: bytes) -> int:
    """Where `split_header_fields` stops: the start of the first line that is empty
    (CRLF or LF alone), or the end."""
    if raw.startswith((b"\r\n", b"\n")):
        return 0
    crlf = raw.find(b"\n\r\n")
    lf = raw.find(b"\n\n", 0, len(raw) if crlf < 0 else crlf + 1)  # only an earlier one
    if lf >= 0:
        return lf + 1
    return len(raw) if crlf < 0 else crlf + 1


def _field_end(raw: bytes, start: int, end: int) -> int:
    """The end of the field starting at `start`: after its last continuation line."""
    position = start
    while True:
        line_end = raw.find(b"\n", position, end)
        if line_end < 0:
            return end
        position = line_end + 1
        if position >= end or raw[position:position + 1] not in (b" ", b"\t"):
            return position


def prepend_header(raw: bytes, field: str) -> bytes:
    """Put a trace field (ending with CRLF) on top of the message (RFC 5321 §4.4).

    UTF-8, for the address in `for` of an SMTPUTF8 transaction (RFC 6532 §3.7).
    """
    if not field.endswith("\r\n"):
        raise ValueError("a header field ends with CRLF")
    return field.encode("utf-8") + raw
