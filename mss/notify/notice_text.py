"""The text of a notice, from Jinja2 templates that only know the kind of event and the
webmail link (docs/architecture.md §9: no health content, only an invitation to log in)."""

from __future__ import annotations

import enum
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).with_name("templates")
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False,
                   undefined=StrictUndefined, keep_trailing_newline=True)


class NoticeKind(enum.StrEnum):
    NEW_MESSAGE = "new_message"
    BREAK_GLASS = "break_glass"
    REMINDER = "reminder"  # an appointment is near (mss.agenda.reminders)


def _subjects() -> dict[str, str]:
    lines = (TEMPLATES / "subjects.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def notice_message(kind: NoticeKind, *, sender: str, recipient: str, webmail_url: str,
                   at: datetime, domain: str) -> EmailMessage:
    """The notice as an RFC 5322 message; the template gets nothing but the link."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = _subjects()[kind.value]
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    text = _ENV.get_template(f"{kind.value}.txt").render(webmail_url=webmail_url)
    message.set_content(text)
    return message
