"""The server's log lines as `mss serve` writes them, for tests that assert them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator

import pytest

from mss.event_log import configure_logging


class Lines:
    """What the server logs, formatted as `mss serve` formats it; `closed` is set when
    a `session.closed` line is written (the server writes it when the connection is
    lost, after the client's QUIT has been answered)."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream
        self.closed = asyncio.Event()

    def all(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def events(self, name: str) -> list[dict[str, str]]:
        return [fields(line) for line in self.all() if f" event={name} " in line + " "]


def fields(line: str) -> dict[str, str]:
    """Parse one logfmt line (values quoted as JSON strings when needed)."""
    found: dict[str, str] = {}
    for match in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        key, value = match.group(1), match.group(2)
        found[key] = json.loads(value) if value.startswith('"') else value
    return found


class _ClosedWatch(logging.Handler):
    def __init__(self, watched: Lines) -> None:
        super().__init__()
        self.watched = watched

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "mss_event", None) == "session.closed":
            self.watched.closed.set()


@pytest.fixture
async def lines() -> AsyncIterator[Lines]:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("logfmt", stream=stream)
    watched = Lines(stream)
    root.addHandler(_ClosedWatch(watched))
    try:
        yield watched
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before[0]:
            root.addHandler(handler)
        root.setLevel(before[1])
