"""INS (NIR + key), RPPS (Luhn), ADELI and patient addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mss.directory.identifiers import (
    InvalidIdentifier,
    check_address,
    check_ins,
    check_professional_id,
    ins_of_patient_address,
    is_valid_adeli,
    is_valid_ins,
    is_valid_rpps,
    nir_key,
    patient_address,
)


@pytest.mark.parametrize(("nir", "key"), [
    ("2790351215189", 89),   # mssante-facts example 279035121518989
    ("1850599123456", 7),    # 97 - 1850599123456 % 97
    ("185052A123456", 33),   # Corsica 2A counts as 19: 97 - 1850519123456 % 97
    ("185052B123456", 60),   # Corsica 2B counts as 18: 97 - 1850518123456 % 97
])
def test_nir_key_examples(nir: str, key: int) -> None:
    assert nir_key(nir) == key
    assert is_valid_ins(f"{nir}{key:02d}")


def test_corsica_keys_follow_the_numeric_replacement() -> None:
    assert nir_key("185052A123456") == 97 - 1850519123456 % 97
    assert nir_key("185052B123456") == 97 - 1850518123456 % 97


@pytest.mark.parametrize("ins", [
    "279035121518988",   # wrong key
    "279035121518990",   # wrong key
    "27903512151898",    # 14 characters
    "2790351215189899",  # 16 characters
    "579035121518989",   # sex digit 5 does not exist
    "27903X121518989",   # letter outside the department
    "185052C12345633",   # 2C is not a department
])
def test_invalid_ins_is_refused(ins: str) -> None:
    assert not is_valid_ins(ins)
    with pytest.raises(InvalidIdentifier):
        check_ins(ins)


def test_check_ins_accepts_lower_case_corsica() -> None:
    assert check_ins("185052a12345633") == "185052A12345633"


@given(st.from_regex(r"[12][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}", fullmatch=True),
       st.integers(min_value=0, max_value=99))
def test_only_the_computed_key_is_valid(nir: str, key: int) -> None:
    expected = 97 - int(nir.replace("2A", "19").replace("2B", "18")) % 97 \
        if nir[5:7] in ("2A", "2B") else 97 - int(nir) % 97
    assert is_valid_ins(f"{nir}{key:02d}") == (key == expected)


def test_rpps_luhn() -> None:
    assert is_valid_rpps("10000000009")
    assert is_valid_rpps("10101234564")
    assert not is_valid_rpps("10000000008")
    assert not is_valid_rpps("1000000009")   # 10 digits
    assert not is_valid_rpps("1000000000A")


def test_adeli_and_professional_ids() -> None:
    assert is_valid_adeli("751234567")
    assert not is_valid_adeli("75123456")
    assert check_professional_id(" 10000000009 ") == "10000000009"
    assert check_professional_id("751234567") == "751234567"
    with pytest.raises(InvalidIdentifier):
        check_professional_id("10000000008")


def test_patient_address_round_trip() -> None:
    address = patient_address("279035121518989", "patient.mss.localhost")
    assert address == "279035121518989@patient.mss.localhost"
    assert ins_of_patient_address(address, "patient.mss.localhost") == "279035121518989"
    assert ins_of_patient_address(address, "patient.other.fr") is None
    assert ins_of_patient_address("279035121518988@patient.mss.localhost",
                                  "patient.mss.localhost") is None
    with pytest.raises(InvalidIdentifier):
        patient_address("279035121518988", "patient.mss.localhost")


def test_addresses_checked_by_email_validator() -> None:
    assert check_address("Jean.Dupont@Hopital.MSSante.fr") == "jean.dupont@hopital.mssante.fr"
    for bad in ("no-at-sign", "two@@example.fr", "a@b", "space in@example.fr"):
        with pytest.raises(InvalidIdentifier):
            check_address(bad)


def test_embedded_localhost_domains_are_accepted() -> None:
    assert check_address("Alice@MSS.localhost") == "alice@mss.localhost"
    with pytest.raises(InvalidIdentifier):
        check_address("bad..dots@mss.localhost")
    with pytest.raises(InvalidIdentifier):
        check_address("alice@localhost")
