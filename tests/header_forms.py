"""Hypothesis strategies for the header forms real mail carries (RFC 5322 §3, §4; RFC 2047;
RFC 6532), valid and broken, for the property tests of the readers and of the servers.

Every message built here is one an SMTP server must take: lines end with CRLF and hold at
most 998 octets (RFC 5322 §2.1.1), no NUL, no bare CR or LF; 8-bit octets appear (RFC 6532
headers, 8BITMIME bodies). `From:` is left to the caller, who knows whom the channel lets
send; everything else may be odd.
"""

from __future__ import annotations

import base64

from hypothesis import strategies as st

MAX_LINE = 998

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Wednesday", "mer.", ""]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
          "Dec", "December", "dec", "Déc"]
ZONES = ["+0000", "-0000", "+0100", "-0530", "+1400", "-1200", "+9999", "UT", "GMT", "UTC",
         "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "Z", "A", "M", "N", "Y",
         "q", "CET", "CEST", "GMT+0100", "+01:00", "+1", ""]
COMMENTS = ["", " (CET)", " (heure de Paris)", " (nested (comment))", " (\\) quoted)"]
CHARSETS = ["utf-8", "UTF-8", "iso-8859-1", "windows-1252", "iso-8859-15", "us-ascii",
            "x-unknown", "klingon", "utf-7", "gb2312", "shift_jis", "koi8-r", "", "utf-8*fr"]
CONTENT_VALUES = [
    b"text/plain; charset=utf-8", b"text/plain; charset=\"x-unknown\"", b"text/html",
    b"multipart/mixed", b"multipart/mixed; boundary=\"zz\"", b"message/rfc822",
    b"application/pdf; name*0*=utf-8''%E9; name*1*=%ZZ", b"text/plain; charset*=''",
    b"attachment; filename=\"r\xc3\xa9sultat.pdf\"", b"inline; filename*=utf-8''%C3%A9",
    b"base64", b"quoted-printable", b"x-weird", b"8bit", b";;;", b"/", b"",
]
WORDS = ["Résultats", "Compte rendu", "IRM", "Dr", "Martin", "élève", "漢字", "Ωμέγα",
         "a" * 40, "=?", "?=", "\"", "(", ")", "<", ">", ",", ";", ":", "@", "\\"]


@st.composite
def dates(draw: st.DrawFn) -> bytes:
    """RFC 5322 §3.3 and §4.3 forms, with the liberties programs take, or garbage."""
    kind = draw(st.sampled_from(["rfc", "rfc", "rfc", "asctime", "iso", "garbage"]))
    if kind == "garbage":
        return draw(st.sampled_from([b"", b"yesterday", b"Thu, 31 Feb 99999 25:61:61 +9999",
                                     b"0", b"Mon, 1 Jan 0001 00:00:00 +0100",
                                     "mercredi 2 décembre".encode("latin-1"),
                                     "2 déc. 2026".encode()]))
    year = draw(st.sampled_from([1970, 1999, 2000, 2026, 2049, 2050, 9999, 26, 99, 49,
                                 50, 126, 0]))
    day = draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(
        st.integers(0, 61))
    if kind == "asctime":
        month = draw(st.sampled_from(MONTHS))
        return f"Wed {month} {day:2d} {hour:02d}:{minute:02d}:{second:02d} {year}".encode()
    if kind == "iso":
        return f"{year:04d}-12-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z".encode()
    weekday = draw(st.sampled_from(WEEKDAYS))
    head = f"{weekday}, " if weekday and draw(st.booleans()) else (
        f"{weekday} " if weekday else "")
    seconds = f":{second:02d}" if draw(st.booleans()) else ""
    fold = draw(st.sampled_from([" ", " ", "\r\n ", "\r\n\t", "  "]))
    text = (f"{draw(st.sampled_from(['', '(sent) ']))}{head}{day} "
            f"{draw(st.sampled_from(MONTHS))}{fold}{year} {hour:02d}:{minute:02d}{seconds} "
            f"{draw(st.sampled_from(ZONES))}{draw(st.sampled_from(COMMENTS))}")
    return text.strip().encode("utf-8")


@st.composite
def encoded_words(draw: st.DrawFn) -> bytes:
    """RFC 2047 encoded words in any charset, some broken (bad base64, unknown charset,
    unterminated, bytes the charset cannot decode)."""
    charset = draw(st.sampled_from(CHARSETS))
    text = draw(st.sampled_from(WORDS))
    content = text.encode("utf-8") if draw(st.booleans()) else draw(st.binary(max_size=12))
    if draw(st.booleans()):
        encoded = base64.b64encode(content)
        if draw(st.integers(0, 4)) == 0:
            encoded = encoded[:-1] + b"@"
        word = b"=?" + charset.encode() + b"?B?" + encoded + b"?="
    else:
        quoted = b"".join(b"=%02X" % byte if byte > 126 or byte < 33 or byte in b"=?_"
                          else bytes([byte]) for byte in content)
        if draw(st.integers(0, 4)) == 0:
            quoted += b"=Z"
        word = b"=?" + charset.encode() + b"?q?" + quoted + b"?="
    if draw(st.integers(0, 6)) == 0:
        word = word[:-2]  # unterminated
    return word


def _raw_word(draw: st.DrawFn) -> bytes:
    word = draw(st.sampled_from(WORDS))
    return word.encode(draw(st.sampled_from(["utf-8", "utf-8", "latin-1"])), "replace")


@st.composite
def phrases(draw: st.DrawFn) -> bytes:
    """Display names: atoms, quoted strings with quoted pairs, encoded words, 8-bit text."""
    parts = draw(st.lists(st.one_of(
        st.builds(lambda w: w, encoded_words()),
        st.sampled_from([b"Dr", b"Alice", b"MARTIN", b"\"Martin, Alice\"", b"\"a \\\" b\"",
                         b"(comment)", b"Service"]),
        st.builds(lambda _: b"", st.none()),
    ), min_size=1, max_size=3))
    if draw(st.booleans()):
        parts.append(_raw_word(draw).replace(b"\"", b"").replace(b"\\", b""))
    return b" ".join(part for part in parts if part)


@st.composite
def addresses(draw: st.DrawFn) -> bytes:
    """One mailbox or group, with comments, routes, quoted local parts, literals."""
    domain = draw(st.sampled_from([b"mss-a.localhost", b"example.fr", b"[127.0.0.1]",
                                   b"xn--lve-6lad.fr", "élève.fr".encode(), b""]))
    local = draw(st.sampled_from([b"dr.alice", b"\"quoted local\"", b"a+tag", b"x",
                                  "réception".encode(), b""]))
    spec = local + b"@" + domain if domain else local
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return spec
    if kind == 1:
        return spec + b" (" + draw(phrases()).replace(b")", b"") + b")"
    if kind == 2:
        return draw(phrases()) + b" <" + spec + b">"
    if kind == 3:
        return b"<" + local + b" (c) @ (c) " + domain + b">"
    if kind == 4:
        return b"<@relay.example,@other.example:" + spec + b">"
    if kind == 5:
        members = draw(st.lists(addresses(), max_size=2))
        return draw(phrases()) + b": " + b", ".join(members) + b";"
    return draw(st.sampled_from([b"<", b"<<>>@,,", b"@", b"undisclosed-recipients:;",
                                 b"\"unterminated", b"(unterminated comment", b""]))


def _fold(value: bytes) -> bytes:
    """Fold a value at its spaces so no line passes MAX_LINE (RFC 5322 §2.2.3); a run
    with no space is cut, as a broken program would (the halves stay one field)."""
    out, line = [], b""
    limit = MAX_LINE - 100  # room for the field name
    for word in value.split(b" "):
        if line and len(line) + len(word) + 1 > limit:
            out.append(line)
            line = b""
        while len(word) > limit:
            out.append(word[:limit])
            word = word[limit:]
        line = line + b" " + word if line else word
    out.append(line)
    return b"\r\n ".join(piece for piece in out if piece) or b""


FIELD_NAMES = [
    b"Date", b"Subject", b"To", b"Cc", b"Bcc", b"Reply-To", b"Sender", b"Message-ID",
    b"In-Reply-To", b"References", b"Comments", b"Keywords", b"X-Mailer",
    b"Disposition-Notification-To", b"MIME-Version", b"Content-Language",
    b"X-MSS-MES", b"Resent-Date", b"X-8bit-\xc3\xa9", b"x-lower-case", b"X-Empty",
    b"Content-Type", b"Content-Transfer-Encoding", b"Content-Disposition",
]


@st.composite
def header_fields(draw: st.DrawFn, names: tuple[bytes, ...] = tuple(FIELD_NAMES)) -> bytes:
    """One header field (name, value, CRLF), any of the kinds the readers look at."""
    name = draw(st.sampled_from(names))
    kind = name.lower()
    if kind in {b"date", b"resent-date"}:
        value = draw(dates())
    elif kind in {b"to", b"cc", b"bcc", b"reply-to", b"sender", b"disposition-notification-to"}:
        value = b", ".join(draw(st.lists(addresses(), min_size=1, max_size=4)))
    elif kind in {b"message-id", b"in-reply-to", b"references"}:
        value = draw(st.sampled_from([b"<1@a>", b"<", b"<a@b> (c) <c@d>", b"no-angle@x",
                                      b"<\xc3\xa9@x>", b"<a@b> <a@b> <a@b>", b""]))
    elif kind.startswith(b"content-"):
        value = draw(st.sampled_from(CONTENT_VALUES))
    elif kind == b"subject":
        value = b" ".join(draw(st.lists(st.one_of(encoded_words(), st.builds(
            lambda w: w, phrases())), min_size=0, max_size=6)))
        if draw(st.integers(0, 5)) == 0:
            value += b" " + b"x" * draw(st.integers(200, 3000))
    else:
        value = draw(st.one_of(phrases(), st.binary(max_size=40).map(
            lambda b: bytes(c for c in b if c not in b"\r\n\x00"))))
    separator = draw(st.sampled_from([b": ", b":", b" : ", b":\t"]))
    return name + separator + _fold(value) + b"\r\n"


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Text lines, 8-bit included, CRLF ended, each under 998 octets."""
    lines = draw(st.lists(st.one_of(
        st.sampled_from([b"Bonjour,", b"", b".", b"..", b"=?utf-8?q?x?=", "é".encode(),
                         b"\xe9t\xe9", b"From the start", b"-- ", b"x" * 990]),
        st.binary(max_size=60).map(lambda b: bytes(c for c in b if c not in b"\r\n\x00")),
    ), max_size=12))
    return b"".join(line + b"\r\n" for line in lines)


@st.composite
def messages(draw: st.DrawFn, from_field: bytes, without: frozenset[bytes] = frozenset()
             ) -> bytes:
    """`from_field` (a whole `From:` line), then generated fields (none named in
    `without`, lower case), an empty line, a body; a field may be duplicated."""
    names = tuple(name for name in FIELD_NAMES if name.lower() not in without)
    fields = draw(st.lists(header_fields(names), max_size=10))
    if draw(st.booleans()):
        fields.insert(0, b"Date: " + draw(dates()) + b"\r\n")  # the field of issue 18
    if fields and draw(st.booleans()):
        fields.append(draw(st.sampled_from(fields)))  # a duplicated field
    return from_field + b"".join(fields) + b"\r\n" + draw(bodies())
