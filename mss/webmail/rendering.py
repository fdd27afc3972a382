"""Jinja2 pages: autoescaped, with the session's CSRF token and the chosen language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from mss.webmail.translations import translate

TEMPLATES = Path(__file__).with_name("templates")
PARIS = ZoneInfo("Europe/Paris")
LANG_COOKIE = "mss_lang"

_ENV = Environment(loader=FileSystemLoader(TEMPLATES),
                   autoescape=select_autoescape(["html", "xml"]), trim_blocks=True,
                   lstrip_blocks=True)


def local_time(value: datetime | None) -> str:
    """Dates as a French reader expects them, in Paris time."""
    if value is None:
        return ""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Ko"
    return f"{size / 1024 / 1024:.1f} Mo"


_ENV.filters["local_time"] = local_time
_ENV.filters["human_size"] = human_size


def language(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "fr"


def render(request: Request, template: str, status_code: int = 200, **values: Any
           ) -> HTMLResponse:
    lang = language(request)
    web = request.scope.get("mss_session")
    context = {
        "request": request, "lang": lang, "_": lambda text: translate(text, lang),
        "csrf": request.scope.get("mss_csrf", ""),
        "principal": web.principal if web is not None else None,
        **values,
    }
    html = _ENV.get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code)
