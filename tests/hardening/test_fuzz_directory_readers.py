"""The national directory extract and the trust list readers on hostile input.

Invariants: `parse_line` returns the row's values or the reason it is refused (a
string), never raises; `parse_trust_list` returns a list or raises `TrustListError`,
never anything else; both stay bounded in time. Inputs are random text, lines shaped
like the extract's 31 columns, and mutations of a valid trust list.
"""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mss.directory.national_extract import COLUMN_COUNT, parse_line
from mss.directory.trust_list import TrustListError, parse_trust_list

CORPUS = Path(__file__).parents[1] / "corpus" / "trust_list"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NS = "https://listeblanche.mssante.fr/schema"
VALID_LINE = "|".join([
    "PER", "alice.martin@mss.localhost", "8", "10001234565", "810001234565", "", "", "", "Dr",
    "MARTIN", "Alice", "C", "Civil", "10", "Médecin", "SM04", "Cardiologie", "O", "Hôpital",
    "", "", "", "3", "B", "R", "de la Paix", "", "Paris", "75012", "75", "FR",
])

column = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["PER", "ORG", "APP", "CAB", "per", "8", "0", "RPPS", "ADELI",
                     "10001234567", "a@b", "x@mss.localhost", "@", "\"q\"@x.fr", "é@x.fr",
                     "a@" + "b" * 300 + ".fr", "\ufeff", " ", "\x00", "\r", "|"]),
)
extract_line = st.lists(column, min_size=COLUMN_COUNT - 1, max_size=COLUMN_COUNT + 1).map(
    "|".join
)


def _check_line(line: str) -> None:
    started = time.thread_time()  # CPU time: a loaded machine does not inflate it
    result = parse_line(line)
    assert time.thread_time() - started < 1.0
    assert isinstance(result, dict | str)


@FAST
@given(st.text(max_size=600))
def test_extract_random_text(line: str) -> None:
    _check_line(line)


@FAST
@given(extract_line)
def test_extract_lines_of_31_columns(line: str) -> None:
    _check_line(line)


def test_the_valid_extract_line_is_read() -> None:
    values = parse_line(VALID_LINE)
    assert isinstance(values, dict) and values["address"] == "alice.martin@mss.localhost"


def _trust_list(entries: int = 3) -> bytes:
    body = "".join(
        f"<Domaine><Nom>d{i}.mssante.fr</Nom><Description>x</Description>"
        f"<DNCertificatOperateur>CN=mx{i}.op.fr,OU=1234567890,O=OP,C=FR"
        "</DNCertificatOperateur><DateMAJ>2025-01-01</DateMAJ></Domaine>" for i in range(entries)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante xmlns="{NS}">'
            f"<DateDeGeneration>2026-01-01</DateDeGeneration><ListeDomaines>{body}"
            "</ListeDomaines></ListeBlancheMSSante>").encode()


def _check_trust_list(data: bytes) -> None:
    started = time.thread_time()  # CPU time: a loaded machine does not inflate it
    try:
        parsed = parse_trust_list(data)
    except TrustListError:
        pass
    else:
        assert parsed.entry_count >= 1
        assert all(entry.domain and entry.subject_dn for entry in parsed.entries)
    assert time.thread_time() - started < 2.0


@FAST
@given(st.binary(max_size=1000))
def test_trust_list_random_bytes(data: bytes) -> None:
    _check_trust_list(data)


@FAST
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                max_size=8))
def test_trust_list_mutations(edits: list[tuple[int, int]]) -> None:
    buffer = bytearray(_trust_list())
    for position, value in edits:
        buffer[position % len(buffer)] = value
    _check_trust_list(bytes(buffer))


@FAST
@given(st.integers(min_value=0, max_value=len(_trust_list())))
def test_trust_list_cut_anywhere(cut: int) -> None:
    _check_trust_list(_trust_list()[:cut])


@FAST
@given(st.text(max_size=200))
def test_trust_list_dn_and_name_texts(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "replace")
    data = _trust_list(1).replace(b"CN=mx0.op.fr,OU=1234567890,O=OP,C=FR", escaped)
    _check_trust_list(data)
    _check_trust_list(_trust_list(1).replace(b"d0.mssante.fr", escaped))


def test_entity_expansion_and_external_entities_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<ListeBlancheMSSante xmlns="' + NS.encode() + b'">&b;</ListeBlancheMSSante>')
    external = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<ListeBlancheMSSante xmlns="' + NS.encode() + b'">&x;</ListeBlancheMSSante>')
    for data in (bomb, external):
        try:
            parse_trust_list(data)
        except TrustListError as error:
            assert "unsafe" in str(error) or "malformed" in str(error)
        else:
            raise AssertionError("a DTD was accepted")


def test_deep_nesting_is_refused_or_read_in_bounded_time() -> None:
    depth = 50_000
    data = (b'<ListeBlancheMSSante xmlns="' + NS.encode() + b'">' + b"<a>" * depth
            + b"</a>" * depth + b"</ListeBlancheMSSante>")
    _check_trust_list(data)


def test_corpus_replays() -> None:
    """Every trust list that once broke the reader (tests/corpus/trust_list)."""
    for path in sorted(CORPUS.glob("*.xml")):
        _check_trust_list(path.read_bytes())
