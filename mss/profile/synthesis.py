"""The profile's synthesis as a PDF (fpdf2, a maintained PDF library): one page per few
sections, the emergency subset first, each item with its author, date and provenance.

The built-in PDF fonts read Latin-1 only: characters outside it are written as their
nearest Latin-1 form (œ → oe, typographic quotes → plain ones), never dropped silently.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from mss.profile.sections import TITLES
from mss.profile.service import Profile, ProfileItem

PARIS = ZoneInfo("Europe/Paris")
_REPLACEMENTS = {"œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-",
                 "—": "-", "…": "...", "€": "EUR", "\u202f": " ", "≥": ">=", "≤": "<="}


def latin1(text: str) -> str:
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            char = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode(
                "latin-1") or "?"
        out.append(char)
    return "".join(out)


def _day(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y") if value else ""


def _line(item: ProfileItem) -> tuple[str, str]:
    head = item.label
    if item.value is not None:
        head = f"{item.label} : {item.value:g} {item.unit}"
    if item.observed_at:
        head += f" ({_day(item.observed_at)})"
    meta = f"{item.author_name or item.author_kind} - {_day(item.updated_at)} - {item.provenance}"
    return head, meta


def synthesis_pdf(profile: Profile, *, now: datetime) -> bytes:
    # imported here: fpdf2 (fontTools, Pillow, numpy) is about 57 MB in every process
    # that imports it, and only this function needs it (issue 19, memory)
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(latin1("Profil médical"))
    pdf.set_author("MSS")
    pdf.set_creation_date(now)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, latin1("Profil médical"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, latin1(f"{profile.patient_name} - INS {profile.patient_ins}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, latin1(f"Synthèse du {_day(now)}"), new_x="LMARGIN", new_y="NEXT")
    for section in profile.sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 8, latin1(TITLES[section]), new_x="LMARGIN", new_y="NEXT")
        items = profile.section(section)
        if not items:
            pdf.set_font("Helvetica", "I", 10)
            pdf.cell(0, 6, latin1("Non renseigné"), new_x="LMARGIN", new_y="NEXT")
            continue
        for item in items:
            head, meta = _line(item)
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(0, 6, latin1(head), new_x="LMARGIN", new_y="NEXT")
            if item.detail:
                pdf.multi_cell(0, 5, latin1(item.detail), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "I", 9)
            pdf.multi_cell(0, 5, latin1(meta), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
