"""Refuse mail data whose line endings are not all CRLF: the SMTP smuggling guard.

RFC 5321 §2.3.8: lines end with CRLF, and CR and LF "MUST only occur together as CRLF".
RFC 5321 §4.1.1.4: `<LF>.<LF>` must not be taken as the end of mail data. The 2023
"SMTP smuggling" research (CVE-2023-51764/-51765/-51766) showed why this matters:
two MTAs that disagree on where DATA ends let an attacker hide a second message, with a
forged sender, inside the first. MSS relays between operators, so it refuses any message
containing a bare LF or a bare CR, and with them `<LF>.<LF>`, `<CR>.<CR>`,
`<CR><LF>.<LF>` and every other mixed form, rather than normalise them: a normalising hop
can itself manufacture a clean `<CRLF>.<CRLF>` for the next hop.

The reply follows Postfix `smtpd_forbid_bare_newline = reject` (its reject code defaults
to 550, enhanced 5.5.2, text "Error: bare <LF> received"); mox answers the same data with
`500 5.5.2`. MSS answers 550 5.5.2 at the end of DATA: permanent, so a well-behaved
client bounces the message instead of retrying it unchanged. The check is pure; the
aiosmtpd handler applies it to `envelope.original_content` (see the module invariants in
the handler).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mss.smtp.replies import BARE_CR, BARE_LF, SmtpReply

CR = 0x0D
LF = 0x0A


@dataclass(frozen=True, slots=True)
class BareLineEnding:
    """Where the first wrong line ending is; the offset is for the log, never the reply."""

    kind: Literal["LF", "CR"]
    offset: int


def find_bare_line_ending(data: bytes) -> BareLineEnding | None:
    """The first LF not preceded by CR, or CR not followed by LF, in `data`; else None.

    A final CR at the very end counts as bare: the data ends before its LF.
    """
    pairs = data.count(b"\r\n")
    if data.count(b"\n") == pairs and data.count(b"\r") == pairs:
        # every LF and every CR belongs to a CRLF (counted in C, docs/design-notes.md, Performance)
        return None
    offset = data.find(b"\n")
    while offset != -1:
        if offset == 0 or data[offset - 1] != CR:
            bare_lf: BareLineEnding | None = BareLineEnding("LF", offset)
            break
        offset = data.find(b"\n", offset + 1)
    else:
        bare_lf = None
    offset = data.find(b"\r")
    bare_cr: BareLineEnding | None = None
    while offset != -1:
        if offset + 1 >= len(data) or data[offset + 1] != LF:
            bare_cr = BareLineEnding("CR", offset)
            break
        offset = data.find(b"\r", offset + 1)
    found = [ending for ending in (bare_lf, bare_cr) if ending is not None]
    return min(found, key=lambda ending: ending.offset) if found else None


def refuse_bare_line_endings(data: bytes) -> None:
    """Raise `SmtpReply` 550 5.5.2 if `data` holds any line ending other than CRLF.

    RFC 5321 §2.3.8 and §4.1.1.4; the reply is `BARE_LF` or `BARE_CR` (Postfix wording).
    """
    found = find_bare_line_ending(data)
    if found is None:
        return
    raise bare_line_ending_reply(found)


def bare_line_ending_reply(found: BareLineEnding) -> SmtpReply:
    """550 5.5.2 naming the bare LF or CR (also given instead of `500 Line too long` when
    bare LFs made aiosmtpd's CRLF-counted line long: the smuggling rule is the reason)."""
    return SmtpReply.parse(BARE_LF if found.kind == "LF" else BARE_CR)
