"""English mode is complete: no template writes words outside `_()`, and every string a
template translates has its English in mss/webmail/translations.py (issue 21)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from mss.vault.spaces import PatientSpace
from mss.webmail.rendering import TEMPLATES
from mss.webmail.translations import ENGLISH

JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
TRANSLATED = re.compile(r"""_\(\s*(["'])(.*?)(?<!\\)\1\s*\)""", re.S)
WORD = re.compile(r"[^\W\d_]{2,}")
NOT_WORDS = {"FR", "EN"}  # the language switch names each language in its own tongue


class _Text(HTMLParser):
    """The text a reader sees: data and the attributes read aloud or shown."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def handle_data(self, data: str) -> None:
        self.seen.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.extend(v or "" for k, v in attrs
                         if k in ("placeholder", "title", "aria-label", "alt"))


TEMPLATE_FILES = sorted(TEMPLATES.glob("*.html"))


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: p.name)
def test_no_literal_words_in_templates(template) -> None:
    parser = _Text()
    parser.feed(JINJA.sub(" ", template.read_text()))
    words = [w for text in parser.seen for w in WORD.findall(text) if w not in NOT_WORDS]
    assert words == [], f"{template.name}: write these through _(…): {words}"


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: p.name)
def test_every_translated_string_has_its_english(template) -> None:
    wanted = {m.group(2).replace("\\'", "'").replace('\\"', '"')
              for m in TRANSLATED.finditer(template.read_text())}
    assert sorted(wanted - set(ENGLISH)) == []


def test_document_spaces_have_english_names() -> None:
    assert [s.value for s in PatientSpace if s.value not in ENGLISH] == []
