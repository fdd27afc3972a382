"""Property tests: hostile bytes never raise anything but VaultExtractionError (or nothing).

Archives are random bytes and mutations of a valid XDM (mutations reach far deeper into
zipfile and the XML parser than pure noise does); plans stay within the limits.
"""

from __future__ import annotations

import contextlib
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mss.vault.errors import VaultExtractionError
from mss.vault.extraction import extract_documents
from mss.vault.hl7_time import parse_hl7_time
from mss.vault.limits import ExtractionLimits
from mss.vault.patient_id import check_ins, parse_cx
from mss.vault.xdm_archive import read_xdm_archive
from mss.vault.xdm_metadata import parse_xdm_metadata

from . import corpus

LIMITS = ExtractionLimits(max_documents=8, max_entries=32, max_entry_bytes=1 << 20,
                          max_total_bytes=4 << 20)
FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@cache
def _valid_archive() -> bytes:
    return corpus.xdm_archive([corpus.lettre_de_liaison(), corpus.cr_biologie(),
                               corpus.pdf_entry(uri="DOC0003.PDF")])


@cache
def _valid_metadata() -> bytes:
    return corpus.metadata_xml([corpus.lettre_de_liaison(), corpus.cr_biologie()])


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in edits:
        buffer[position % len(buffer)] = value
    return bytes(buffer)


EDITS = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                 max_size=12)


def _assert_bounded_plan(archive: bytes) -> None:
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS, LIMITS)
    assert len(plan.documents) + len(plan.problems) <= LIMITS.max_documents + 1
    assert all(d.patient_id == corpus.PATIENT_INS for d in plan.documents)


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_ihe_xdm_zip_never_escape(data: bytes) -> None:
    with contextlib.suppress(VaultExtractionError):
        read_xdm_archive(data, LIMITS)
    _assert_bounded_plan(data)


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_after_a_zip_signature_never_escape(tail: bytes) -> None:
    data = b"PK\x03\x04" + tail
    with contextlib.suppress(VaultExtractionError):
        read_xdm_archive(data, LIMITS)
    _assert_bounded_plan(data)


@FAST
@given(EDITS)
def test_mutated_archives_never_escape(edits: list[tuple[int, int]]) -> None:
    data = _mutate(_valid_archive(), edits)
    with contextlib.suppress(VaultExtractionError):
        read_xdm_archive(data, LIMITS)
    _assert_bounded_plan(data)


@FAST
@given(EDITS)
def test_mutated_metadata_never_escapes(edits: list[tuple[int, int]]) -> None:
    metadata = _mutate(_valid_metadata(), edits)
    with contextlib.suppress(VaultExtractionError):
        parse_xdm_metadata(metadata, LIMITS)
    archive = corpus.xdm_archive([corpus.lettre_de_liaison(), corpus.cr_biologie()],
                                 metadata=metadata)
    _assert_bounded_plan(archive)


@FAST
@given(st.text(max_size=80))
def test_identifiers_and_times_never_raise(text: str) -> None:
    parse_hl7_time(text)
    check_ins(parse_cx(text), corpus.PATIENT_INS)
