"""Measures drawn as server-rendered SVG (no script, no style attribute: the page's CSP
allows neither), each with a text alternative: a <title>, a <desc> summing the series
up, and the table of values the page prints beside it (WCAG 1.1.1)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
WIDTH, HEIGHT = 520, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 30


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def _day(value: datetime) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y")


def describe(label: str, unit: str, points: list[tuple[datetime, float]]) -> str:
    """One sentence a screen reader reads for the plot."""
    if not points:
        return f"{label} : aucune mesure."
    first, last = points[0], points[-1]
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    return (f"{label} : {len(points)} mesure(s) du {_day(first[0])} au {_day(last[0])}, "
            f"de {_number(low)} à {_number(high)} {unit}, dernière {_number(last[1])} {unit}.")


def measure_svg(key: str, label: str, unit: str, points: list[tuple[datetime, float]]) -> str:
    """An accessible line chart of one measure over time (values already validated)."""
    ident = escape(f"plot-{key}")
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} '
             f'{HEIGHT}" role="img" aria-labelledby="{ident}-t {ident}-d">',
             f'<title id="{ident}-t">{escape(label)} ({escape(unit)})</title>',
             f'<desc id="{ident}-d">{escape(describe(label, unit, points))}</desc>',
             f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{LEFT + inner_w}" '
             f'y2="{TOP + inner_h}" stroke="#5f6b78"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + inner_h}" stroke="#5f6b78"/>']
    if points:
        low = min(v for _, v in points)
        high = max(v for _, v in points)
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        start = points[0][0].timestamp()
        span = max(points[-1][0].timestamp() - start, 1.0)

        def xy(at: datetime, value: float) -> tuple[float, float]:
            x = LEFT + (at.timestamp() - start) / span * inner_w if len(points) > 1 \
                else LEFT + inner_w / 2
            y = TOP + inner_h - (value - low) / (high - low) * inner_h
            return round(x, 1), round(y, 1)

        coords = [xy(at, value) for at, value in points]
        for bound, level in ((high, TOP), (low, TOP + inner_h)):
            parts.append(f'<text x="{LEFT - 6}" y="{level + 4}" text-anchor="end" '
                         f'font-size="11" fill="#5f6b78">{escape(_number(bound))}</text>')
        parts.append(f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11" fill="#5f6b78">'
                     f'{escape(_day(points[0][0]))}</text>')
        if len(points) > 1:
            parts.append(f'<text x="{LEFT + inner_w}" y="{HEIGHT - 8}" text-anchor="end" '
                         f'font-size="11" fill="#5f6b78">{escape(_day(points[-1][0]))}</text>')
            path = " ".join(f"{x},{y}" for x, y in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="#0b5cad" '
                         f'stroke-width="2"/>')
        for x, y in coords:
            parts.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="#0b5cad"/>')
    parts.append("</svg>")
    return "".join(parts)
