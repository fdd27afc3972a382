"""Exceptions of the IMAP protocol core.

`ImapParseError` is the only error that bad input may raise: the server replies ``BAD``
(or ``NO`` with a response code for its subclasses) and, where `must_close` is set,
closes the connection. `IncompleteCommand` is not an error: it tells the reader that
more bytes are needed and whether to send a continuation request first.
"""

from __future__ import annotations


class ImapParseError(Exception):
    """A command that does not follow the grammar of RFC 3501 §9 (reply ``BAD``)."""

    status: str = "BAD"

    def __init__(
        self,
        tag: str | None,
        message: str,
        *,
        code: str | None = None,
        must_close: bool = False,
        consumed: int = 0,
    ) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message
        self.code = code
        self.must_close = must_close
        # Bytes of the input that belong to the bad command, so a reader can skip them.
        self.consumed = consumed


class LineTooLong(ImapParseError):
    """A command line beyond the configured limit; the rest of the line is unknown."""


class LiteralTooLarge(ImapParseError):
    """A literal announced larger than allowed.

    RFC 3501 §7.1.1 ``[TOOBIG]`` is RFC 4469's; RFC 7888 §4: after a refused
    non-synchronising literal the client sends the bytes anyway, so the server closes.
    """


class BadCharset(ImapParseError):
    """SEARCH with a charset the server does not know (RFC 3501 §6.4.4, ``NO [BADCHARSET]``).

    `saves_result`: the command asked ``RETURN (SAVE)``, so its NO leaves the saved
    result empty (RFC 5182 §2.1), although the command never ran."""

    status = "NO"
    saves_result = False


class InvalidMailboxName(ImapParseError):
    """A mailbox name that is not modified UTF-7 (RFC 3501 §5.1.3): a valid command with
    a name no mailbox can have, so ``NO`` as Dovecot answers, not ``BAD``."""

    status = "NO"


class IncompleteCommand(Exception):
    """More bytes are needed before the command can be parsed.

    `literal_size` is the size of the literal the client announced (``None`` when the
    line itself is incomplete); `needs_continuation` is true for a synchronising literal
    ``{n}`` (RFC 3501 §7.5: the server sends ``+``), false for ``{n+}`` (RFC 7888).
    `literal_offset` locates the literal in the buffer, so each is acknowledged once.
    """

    def __init__(
        self,
        literal_size: int | None = None,
        needs_continuation: bool = False,
        literal_offset: int = 0,
    ) -> None:
        super().__init__("incomplete command")
        self.literal_size = literal_size
        self.needs_continuation = needs_continuation
        self.literal_offset = literal_offset
