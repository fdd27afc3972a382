"""INS checks (ANS référentiel INS: NIR key) and HL7 timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mss.vault.hl7_time import parse_hl7_time
from mss.vault.patient_id import (
    INS_NIA_OID,
    INS_NIR_OID,
    InsCheck,
    PatientIdentifier,
    check_ins,
    is_well_formed_ins,
    parse_cx,
)

from . import corpus


def test_cx_value_gives_identifier_and_authority() -> None:
    identifier = parse_cx("279035121518989^^^&1.2.250.1.213.1.4.8&ISO")
    assert identifier == PatientIdentifier("279035121518989", INS_NIR_OID)
    assert identifier.is_ins
    assert identifier.render() == "279035121518989^^^&1.2.250.1.213.1.4.8&ISO"


def test_cx_without_identifier_is_none() -> None:
    assert parse_cx("^^^&1.2.250.1.213.1.4.8&ISO") is None


def test_nir_key_and_corsica_are_checked() -> None:
    assert is_well_formed_ins(corpus.PATIENT_INS)
    assert not is_well_formed_ins("279035121518988")
    corsica = "185072A123456"
    key = 97 - int(corsica.replace("2A", "19")) % 97
    assert is_well_formed_ins(f"{corsica}{key:02d}")
    assert not is_well_formed_ins("27903512151898")


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        (PatientIdentifier(corpus.PATIENT_INS, INS_NIR_OID), InsCheck.MATCHES),
        (PatientIdentifier(corpus.PATIENT_INS, INS_NIA_OID), InsCheck.MATCHES),
        (PatientIdentifier(corpus.OTHER_PATIENT_INS, INS_NIR_OID), InsCheck.MISMATCH),
        (PatientIdentifier("2790351215", INS_NIR_OID), InsCheck.INCOMPLETE),
        (PatientIdentifier(corpus.PATIENT_INS, "1.2.250.1.999"), InsCheck.MISSING),
        (None, InsCheck.MISSING),
    ],
)
def test_check_ins_against_the_recipient(
    identifier: PatientIdentifier | None, expected: InsCheck
) -> None:
    assert check_ins(identifier, corpus.PATIENT_INS) is expected


def test_hl7_times_of_xds_and_cda() -> None:
    assert parse_hl7_time("20240115093000") == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)
    assert parse_hl7_time("20240115") == datetime(2024, 1, 15, tzinfo=UTC)
    assert parse_hl7_time("20240115103000+0100") == datetime(
        2024, 1, 15, 10, 30, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_hl7_time("20241332") is None
    assert parse_hl7_time("soon") is None
