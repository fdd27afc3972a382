"""Address lists as IMAP ENVELOPE addresses (RFC 3501 §7.4.2, RFC 5322 §3.4).

Each address is (name, adl, mailbox, host); a group is opened by (NIL NIL name NIL)
and closed by (NIL NIL NIL NIL). The bytes of the header are kept: encoded words and
raw UTF-8 pass through for the client to decode.
"""

from __future__ import annotations

from dataclasses import dataclass

_SPECIALS = '()<>,;:@\\"[]'


@dataclass(frozen=True)
class EnvelopeAddress:
    """RFC 3501 §9 ``address``: name, source route, mailbox (local part), host."""

    name: bytes | None
    adl: bytes | None
    mailbox: bytes | None
    host: bytes | None


@dataclass(frozen=True)
class _Token:
    kind: str  # "atom", "quoted", "comment", "literal" (domain literal) or "special"
    text: str  # decoded text (quoted and comment contents without quotes or escapes)
    raw: str  # as written


def _tokenise(value: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    length = len(value)
    while pos < length:
        char = value[pos]
        if char in " \t\r\n":
            pos += 1
        elif char == '"':
            text, end = _delimited(value, pos + 1, '"')
            tokens.append(_Token("quoted", text, value[pos:end]))
            pos = end
        elif char == "(":
            text, end = _comment(value, pos + 1)
            tokens.append(_Token("comment", text, value[pos:end]))
            pos = end
        elif char == "[":
            text, end = _delimited(value, pos + 1, "]")
            tokens.append(_Token("literal", text, value[pos:end]))
            pos = end
        elif char in _SPECIALS:
            tokens.append(_Token("special", char, char))
            pos += 1
        else:
            end = pos
            while end < length and value[end] not in _SPECIALS and value[end] not in " \t\r\n":
                end += 1
            tokens.append(_Token("atom", value[pos:end], value[pos:end]))
            pos = end
    return tokens


def _delimited(value: str, pos: int, closing: str) -> tuple[str, int]:
    out: list[str] = []
    while pos < len(value):
        char = value[pos]
        if char == "\\" and pos + 1 < len(value):
            out.append(value[pos + 1])
            pos += 2
        elif char == closing:
            return "".join(out), pos + 1
        else:
            if char not in "\r\n":
                out.append(char)
            pos += 1
    return "".join(out), pos


def _comment(value: str, pos: int) -> tuple[str, int]:
    depth = 1
    out: list[str] = []
    while pos < len(value):
        char = value[pos]
        if char == "\\" and pos + 1 < len(value):
            out.append(value[pos + 1])
            pos += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return "".join(out), pos + 1
        out.append(char)
        pos += 1
    return "".join(out), pos


def parse_address_list(value: bytes) -> list[EnvelopeAddress]:
    """Every mailbox of an address-list header, groups marked as RFC 3501 asks.

    Latin-1 maps bytes to characters one to one, so 8-bit input comes back unchanged.
    """
    tokens = _tokenise(value.decode("latin-1"))
    result: list[EnvelopeAddress] = []
    in_group = False
    phrase: list[_Token] = []
    angle: list[_Token] | None = None
    index = 0
    while index <= len(tokens):
        token = tokens[index] if index < len(tokens) else _Token("special", ",", ",")
        index += 1
        if token.kind == "special" and token.text == "<" and angle is None:
            angle = []
            while index < len(tokens) and tokens[index].raw != ">":
                angle.append(tokens[index])
                index += 1
            index += 1
        elif token.kind == "special" and token.text == ":" and angle is None and not in_group:
            result.append(EnvelopeAddress(None, None, _encode(_phrase_text(phrase)), None))
            in_group = True
            phrase = []
        elif token.kind == "special" and token.text in ",;":
            address = _mailbox(phrase, angle)
            if address is not None:
                result.append(address)
            phrase, angle = [], None
            if token.text == ";" and in_group:
                result.append(EnvelopeAddress(None, None, None, None))
                in_group = False
        else:
            phrase.append(token)
    if in_group:
        result.append(EnvelopeAddress(None, None, None, None))
    return result


def _mailbox(phrase: list[_Token], angle: list[_Token] | None) -> EnvelopeAddress | None:
    if angle is not None:
        words = [token for token in phrase if token.kind != "comment"]
        name = _phrase_text(words) or None
        return _addr_spec(angle, name)
    if not phrase:
        return None
    comments = [token.text.strip() for token in phrase if token.kind == "comment"]
    spec = [token for token in phrase if token.kind != "comment"]
    if not spec:
        return None
    return _addr_spec(spec, comments[-1] if comments and comments[-1] else None)


def _addr_spec(tokens: list[_Token], name: str | None) -> EnvelopeAddress | None:
    """``[@route,@route:]local@domain``: the route goes to the adl field."""
    tokens = [token for token in tokens if token.kind != "comment"]
    adl = None
    colon = next((i for i, token in enumerate(tokens) if token.raw == ":"), None)
    if colon is not None:
        adl = "".join(token.raw for token in tokens[:colon])
        tokens = tokens[colon + 1 :]
    text = "".join(token.raw for token in tokens)
    if not text and name is None:
        return None
    local, at, host = text.rpartition("@")
    if not at:
        local, host = text, ""
    return EnvelopeAddress(_encode(name), _encode(adl), _encode(local), _encode(host))


def _phrase_text(tokens: list[_Token]) -> str:
    return " ".join(token.text for token in tokens if token.kind != "comment")


def _encode(text: str | None) -> bytes | None:
    return None if text is None else text.encode("latin-1")
