"""DN comparison is robust to the ways people write trust-list DNs."""

from __future__ import annotations

import unicodedata

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from mss.certs import comparable_dn, dn_key, same_dn
from mss.certs.distinguished_names import DnSyntaxError, name_to_dn

LISTED = "CN=mssante.proginov.fr,OU=340350374100031,O=PROGINOV,ST=LOIRE-ATLANTIQUE(44),C=FR"


@pytest.mark.parametrize(
    "variant",
    [
        "CN=MSSANTE.PROGINOV.FR,OU=340350374100031,O=PROGINOV,ST=LOIRE-ATLANTIQUE(44),C=FR",
        "CN=mssante.proginov.fr, OU=340350374100031, O=PROGINOV, ST=LOIRE-ATLANTIQUE(44), C=FR",
        "cn=mssante.proginov.fr,ou=340350374100031,o=Proginov,st=loire-atlantique(44),c=fr",
        "CN = mssante.proginov.fr ,OU=340350374100031,O=PROGINOV,S=LOIRE-ATLANTIQUE(44),C=FR",
        "/C=FR/ST=LOIRE-ATLANTIQUE(44)/O=PROGINOV/OU=340350374100031/CN=mssante.proginov.fr",
        "commonName=mssante.proginov.fr;OU=340350374100031;O=PROGINOV;2.5.4.8=LOIRE-ATLANTIQUE(44);C=FR",
    ],
)
def test_spellings_of_the_same_dn_match(variant: str) -> None:
    assert same_dn(LISTED, variant)
    assert comparable_dn(LISTED) == comparable_dn(variant)


@pytest.mark.parametrize(
    "other",
    [
        "CN=mssante.proginov.fr,OU=340350374100032,O=PROGINOV,ST=LOIRE-ATLANTIQUE(44),C=FR",
        "CN=mssante.proginov.fr,OU=340350374100031,O=PROGINOV,C=FR",
        "C=FR,ST=LOIRE-ATLANTIQUE(44),O=PROGINOV,OU=340350374100031,CN=mssante.proginov.fr",
        "not a dn",
    ],
    ids=["other-structure", "missing-rdn", "reversed-without-slashes", "garbage"],
)
def test_different_dns_do_not_match(other: str) -> None:
    assert not same_dn(LISTED, other)


def test_inner_spaces_and_accents_are_prepared() -> None:
    composed = "CN=x.fr,OU=1,O=CH  DE   VALREAS,ST=Puy-de-Dôme (63),C=FR"
    decomposed = unicodedata.normalize(
        "NFD", "CN=x.fr,OU=1,O=CH DE VALREAS,ST=Puy-de-Dôme (63),C=FR"
    )
    assert same_dn(composed, decomposed)


def test_escaped_comma_stays_inside_its_value() -> None:
    key = dn_key("CN=x.fr,O=DUPONT\\, MARTIN ET ASSOCIES,C=FR")
    assert key[1] == (("O", "dupont, martin et associes"),)
    assert len(key) == 3


def test_empty_text_is_a_syntax_error() -> None:
    with pytest.raises(DnSyntaxError):
        dn_key("   ")


_value = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs", "Pd", "Ps", "Pe", "Po"]),
    min_size=1,
    max_size=20,
).filter(lambda text: text.strip() != "")


@given(host=_value, structure=_value, organisation=_value, department=_value)
def test_certificate_subject_string_matches_itself_after_respacing(
    host: str, structure: str, organisation: str, department: str
) -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, department),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, structure),
            x509.NameAttribute(NameOID.COMMON_NAME, host),
        ]
    )
    written = name_to_dn(name)
    assert same_dn(written, written.replace(",", ", ").replace("\\, ", "\\,"))
    assert len(dn_key(written)) == 5


def test_comparable_form_keeps_an_escaped_comma_apart_from_an_rdn_boundary() -> None:
    one_value = "CN=x.fr,O=A\\,OU=B,C=FR"
    two_rdns = "CN=x.fr,O=A,OU=B,C=FR"
    assert comparable_dn(one_value) != comparable_dn(two_rdns)
