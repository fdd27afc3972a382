"""One log line per event, greppable like Postfix's (docs/logging.md).

An event line names its event with the one vocabulary of the audit trail and the
metrics (`AuditAction`), then `key=value` fields: `grep queue_id=4F2A9C01B7E3` follows a
message, `grep session=…` one connection, `grep event=auth.failed` the failed logins.

Invariants:
- every line written while a protocol session runs carries its session id (a
  contextvar set when the session begins: each SMTP, IMAP connection and HTTP request
  runs in its own asyncio task, which holds its own copy of the context);
- no secret ever reaches a line: callers pass user names and mechanisms, never
  passwords or tokens; aiosmtpd's own INFO lines (which echo AUTH lines and read
  `recip: x` like an acceptance) are silenced unless `--verbose`;
- values are quoted and escaped when they hold blanks, quotes, `=` or control
  characters, so one event is always one line and a field cannot forge another.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache, partial
from typing import Any

from mss.store.audit_actions import AuditAction

EVENTS = logging.getLogger("mss.events")
SESSION_ID: ContextVar[str] = ContextVar("mss_session_id", default="")
LOG_FORMATS = ("logfmt", "json")
# aiosmtpd's logger: at INFO it logs each command line (AUTH included) and `recip:`.
QUIET_LOGGERS = ("mail.log", "alembic")


def begin_session() -> str:
    """A new session id for the running task (and the tasks it starts)."""
    session = secrets.token_hex(5)
    SESSION_ID.set(session)
    return session


@contextmanager
def in_session(session: str) -> Iterator[None]:
    """Lines written inside carry `session` (work done on behalf of a session, e.g. by
    a task the session did not start itself)."""
    token = SESSION_ID.set(session)
    try:
        yield
    finally:
        SESSION_ID.reset(token)


class _EventMessage:
    """The record's message, rendered only if some handler formats the record."""

    __slots__ = ("event", "fields")

    def __init__(self, event: str, fields: Mapping[str, object]) -> None:
        self.event = event
        self.fields = fields

    def __str__(self) -> str:
        return logfmt({"event": self.event, **self.fields})


EventObserver = Callable[[str, Mapping[str, object]], None]
_OBSERVERS: list[EventObserver] = []


def observe_events(observer: EventObserver) -> Callable[[], None]:
    """Have `observer` see every event of this process, logged or not (the node's
    metrics count them); returns what removes it."""
    _OBSERVERS.append(observer)
    return lambda: _OBSERVERS.remove(observer) if observer in _OBSERVERS else None


def event(action: AuditAction, level: int = logging.INFO, /, **fields: object) -> None:
    """Log one event line: `event=<action>` then `fields` in the order given (None
    values are left out)."""
    for observer in _OBSERVERS:
        observer(action.value, fields)
    if not EVENTS.isEnabledFor(level):
        return
    kept = {key: value for key, value in fields.items() if value is not None}
    EVENTS.log(level, _EventMessage(action.value, kept),
               extra={"mss_event": action.value, "mss_fields": kept})


def audited_rows(rows: list[dict[str, object]], **fields: object) -> None:
    """One line per audit row a transaction committed, with `fields` added (the
    queue id): the row's detail (`key=value` words) becomes fields of the line."""
    for row in rows:
        action = AuditAction(str(row["action"]))
        line: dict[str, object] = dict(fields)
        line.update(outcome=row["outcome"], principal=row["principal"],
                    target=row["target"] or None)
        line.update(detail_fields(str(row.get("detail") or "")))
        event(action, **line)


def detail_fields(detail: str) -> dict[str, str]:
    """`rule=P2 message=<a@b>` → fields; a detail that is not all `key=value` words
    stays one `detail` field."""
    words = detail.split()
    if words and all("=" in word and not word.startswith("=") for word in words):
        pairs = (word.split("=", 1) for word in words)
        return {_DETAIL_NAMES.get(key, key): value for key, value in pairs}
    return {"detail": detail} if detail else {}


_DETAIL_NAMES = {"message": "message_id"}  # audit rows say `message=<Message-ID>`
# what a value may hold unquoted; anything else (blank, quote, `=`, control) is quoted
_PLAIN = re.compile(r"[A-Za-z0-9\-_.:/@<>+,\[\]()*%#!?~^$&;]+")


def logfmt_value(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if _PLAIN.fullmatch(text):
        return text
    if len(text) <= MEMO_QUOTED_CHARS:
        return _quoted(text)
    return json.dumps(text, ensure_ascii=False)


MEMO_QUOTED_CHARS = 300
# A peer's DN, a principal, a reply: the quoted values of a server's lines repeat from
# message to message (issue 19: the event lines became a tenth of the MX's CPU).
_quoted = lru_cache(maxsize=512)(partial(json.dumps, ensure_ascii=False))


def logfmt(fields: Mapping[str, object]) -> str:
    return " ".join(f"{key}={logfmt_value(value)}" for key, value in fields.items())


_SECOND: list[Any] = [None, ""]  # the last second formatted, and its text


def _timestamp(record: logging.LogRecord) -> str:
    second = int(record.created)
    if _SECOND[0] != second:
        _SECOND[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_SECOND[1]}.{int(record.msecs):03d}Z"


def _line_fields(record: logging.LogRecord, process: str) -> dict[str, object]:
    fields: dict[str, object] = {"ts": _timestamp(record),
                                 "level": record.levelname.lower()}
    if process:
        fields["proc"] = process
    fields["logger"] = record.name
    session = getattr(record, "mss_session", None) or SESSION_ID.get()
    if session:
        fields["session"] = session
    event_name = getattr(record, "mss_event", None)
    if event_name is not None:
        fields["event"] = event_name
        fields.update(getattr(record, "mss_fields", {}))
    else:
        fields["msg"] = record.getMessage()
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


class LogfmtFormatter(logging.Formatter):
    """`ts=… level=info logger=mss.events session=… event=… key=value …`."""

    def __init__(self, process: str = "") -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        return logfmt(_line_fields(record, self.process))


class JsonFormatter(logging.Formatter):
    """The same fields as one JSON object per line (`[logging] format = "json"`)."""

    def __init__(self, process: str = "") -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_line_fields(record, self.process), ensure_ascii=False,
                          default=str)


class _SessionStamp(logging.Filter):
    """Keeps the session id of the task that logged (a queued handler formats later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "mss_session"):
            record.mss_session = SESSION_ID.get()
        return True


def configure_logging(log_format: str = "logfmt", *, verbose: bool = False,
                      process: str = "", stream: Any = None,
                      unless_configured: bool = False) -> logging.Handler | None:
    """One root handler writing `log_format` lines to stderr, in place of the one this
    function installed before. `unless_configured`: leave a root logger that already
    has other handlers alone (as `logging.basicConfig` does: a host such as pytest)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "mss_handler", False)]
    if unless_configured and len(root.handlers) > len(ours):
        return None
    formatter: logging.Formatter = (JsonFormatter(process) if log_format == "json"
                                    else LogfmtFormatter(process))
    # The lines carry their own fields: the caller's frame, thread and process name of
    # each record are never shown, and looking them up was a fifth of a line's CPU
    # (the logging HOWTO, "Optimization").
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_SessionStamp())
    handler.mss_handler = True  # type: ignore[attr-defined]
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose and name == "mail.log"
                                         else logging.WARNING)
    return handler
