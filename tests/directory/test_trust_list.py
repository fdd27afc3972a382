"""The trust list: the real published file, refusals, atomic replacement, snapshot."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from mss.directory.trust_list import TrustListError, parse_trust_list
from mss.directory.trust_store import (
    TrustSnapshot,
    current_trust_list,
    import_trust_list,
    is_trusted_domain,
    trusted_dns,
    trusted_domain_count,
)
from mss.distinguished_names import dn_lookup_key
from mss.store.tables import AuditEvent

REAL = Path("/work/shared/samples/listeblanchemssante.xml")
NS = "https://listeblanche.mssante.fr/schema"
ADISTA_1 = "CN=smtp-1.mssante.adista.fr,OU=332315971500305,O=ADISTA,ST=Meurthe-et-Moselle (54),C=FR"
ADISTA_2 = "CN=smtp-2.mssante.adista.fr,OU=332315971500305,O=ADISTA,ST=Meurthe-et-Moselle (54),C=FR"
DEDALUS = "OU=341459958900028,O=DEDALUS HEALTHCARE FRANCE,ST=Gironde (33),C=FR"
# zenidoc.mssante.fr appears four times in the file, with four server DNs
ZENIDOC = {ADISTA_1, ADISTA_2, f"CN=smtp-1.sante.santnet.com,{DEDALUS}",
           f"CN=smtp-2.sante.santnet.com,{DEDALUS}"}


def small_list(*entries: tuple[str, str], closed: bool = True) -> bytes:
    body = "".join(
        f"<Domaine><Nom>{name}</Nom><Description>d</Description>"
        f"<DNCertificatOperateur>{dn}</DNCertificatOperateur><DateMAJ>2025-01-01</DateMAJ>"
        "</Domaine>" for name, dn in entries
    )
    tail = "</ListeDomaines></ListeBlancheMSSante>" if closed else "</ListeDomaines>"
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante xmlns="{NS}">'
            f"<DateDeGeneration>2026-01-01T00:00:00Z</DateDeGeneration><ListeDomaines>"
            f"{body}{tail}").encode()


@pytest.fixture(scope="module")
def real_bytes() -> bytes:
    return REAL.read_bytes()


def test_real_file_is_read_as_published(real_bytes: bytes) -> None:
    assert not real_bytes.rstrip().endswith(b"</ListeBlancheMSSante>")
    trust_list = parse_trust_list(real_bytes)
    assert trust_list.entry_count == 6554
    assert trust_list.domain_count == 5002
    assert trust_list.published_dn_count == 392
    # two spellings of APICEM's DN differ only by spaces after commas: one DN
    assert trust_list.dn_count == 391
    assert trust_list.generated_at == "2025-03-13T14:54:10Z"
    assert not trust_list.complete
    assert trust_list.by_domain["zenidoc.mssante.fr"] == {dn_lookup_key(dn) for dn in ZENIDOC}


def test_checksum_is_checked(real_bytes: bytes) -> None:
    good = hashlib.sha256(real_bytes).hexdigest()
    assert parse_trust_list(real_bytes, good.upper()).sha256 == good
    with pytest.raises(TrustListError, match="checksum"):
        parse_trust_list(real_bytes, "0" * 64)


@pytest.mark.parametrize("marker", [b"</Nom>", b"<DNCertificatOperateur>", b"</Domai"])
def test_cut_inside_an_entry_is_refused(real_bytes: bytes, marker: bytes) -> None:
    cut = real_bytes.index(marker, len(real_bytes) // 2) + 2
    with pytest.raises(TrustListError, match="inside an entry"):
        parse_trust_list(real_bytes[:cut])


def test_cut_between_entries_is_read(real_bytes: bytes) -> None:
    cut = real_bytes.index(b"</Domaine>", len(real_bytes) // 2) + len(b"</Domaine>")
    trust_list = parse_trust_list(real_bytes[:cut])
    assert 0 < trust_list.entry_count < 6554
    assert parse_trust_list(small_list(("a.fr", "CN=a"), closed=True)).complete


@pytest.mark.parametrize("document", [
    b'<?xml version="1.0"?><html><body>not a list</body></html>',
    b'<ListeBlancheMSSante xmlns="https://example.org/other"><ListeDomaines/>'
    b"</ListeBlancheMSSante>",
    b"<ListeBlancheMSSante><ListeDomaines></ListeDomaines></ListeBlancheMSSante>",
])
def test_other_schemas_are_refused(document: bytes) -> None:
    with pytest.raises(TrustListError, match="not a trust list"):
        parse_trust_list(document)


def test_entities_dtd_and_missing_fields_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]>'
            b'<ListeBlancheMSSante xmlns="' + NS.encode() + b'"/>')
    with pytest.raises(TrustListError, match="unsafe"):
        parse_trust_list(bomb)
    with pytest.raises(TrustListError, match="no <Nom>"):
        parse_trust_list(small_list(("", "CN=a")))
    with pytest.raises(TrustListError, match="no <DNCertificatOperateur>"):
        parse_trust_list(small_list(("a.fr", "")))
    with pytest.raises(TrustListError, match="no <Domaine>"):
        parse_trust_list(small_list())


def test_dn_lookup_key_is_one_form_for_every_spelling() -> None:
    key = dn_lookup_key("CN=a.fr,OU=1,O=GIP X,ST=Paris (75),C=FR")
    for spelling in (" cn = a.fr , ou=1 ,o=GIP X, st=Paris (75),c=FR ",
                     "CN=A.FR,OU=1,O=gip  x,S=Paris (75),C=fr",
                     "/C=FR/ST=Paris (75)/O=GIP X/OU=1/CN=a.fr"):
        assert dn_lookup_key(spelling) == key
    assert dn_lookup_key(key) == key  # stored keys are stable when looked up again
    assert dn_lookup_key(r"CN=a\, b,O=X") != dn_lookup_key("CN=a,CN=b,O=X")
    broken = dn_lookup_key("not a dn")
    assert broken == dn_lookup_key(broken)
    assert broken != dn_lookup_key("CN=not a dn")


async def audit_actions(store) -> list[str]:
    async with store.reading() as session:
        return list((await session.execute(
            select(AuditEvent.action).order_by(AuditEvent.seq))).scalars())


async def test_import_then_refusals_keep_the_old_list(store, real_bytes: bytes) -> None:
    info = await import_trust_list(store, real_bytes, hashlib.sha256(real_bytes).hexdigest())
    assert (info.entry_count, info.domain_count, info.dn_count) == (6554, 5002, 391)
    assert await trusted_domain_count(store) == 5002
    assert await trusted_dns(store, "ZENIDOC.mssante.fr") == {dn_lookup_key(dn) for dn in ZENIDOC}
    assert await is_trusted_domain(store, "adsea29.mssante.fr")
    assert not await is_trusted_domain(store, "gmail.com")

    cut = real_bytes[: real_bytes.index(b"</Nom>", 100_000) + 3]
    refusals = [
        (cut, None),
        (b"<html/>", None),
        (real_bytes, "f" * 64),
    ]
    for data, checksum in refusals:
        with pytest.raises(TrustListError):
            await import_trust_list(store, data, checksum)
    assert await trusted_domain_count(store) == 5002
    current = await current_trust_list(store)
    assert current is not None and current.import_id == info.import_id
    assert (await audit_actions(store)).count("trust_list.refused") == 3


async def test_replacement_and_snapshot_refresh(store) -> None:
    first = small_list(("a.fr", "CN=mx.a.fr,O=A,C=FR"), ("a.fr", "CN=mx2.a.fr,O=A,C=FR"),
                       ("b.fr", "CN=mx.b.fr,O=B,C=FR"))
    await import_trust_list(store, first, source="first.xml")
    snapshot = await TrustSnapshot.load(store)
    assert snapshot.allows("A.fr", "cn=mx2.a.fr, o=A, c=FR")
    assert not snapshot.allows("a.fr", "CN=mx.b.fr,O=B,C=FR")
    assert not await snapshot.refresh(store)

    await import_trust_list(store, small_list(("c.fr", "CN=mx.c.fr,O=C,C=FR")))
    assert snapshot.is_trusted_domain("b.fr")  # still the old view until refreshed
    assert await snapshot.refresh(store)
    assert not snapshot.is_trusted_domain("b.fr")
    assert snapshot.is_trusted_domain("c.fr")
    assert await trusted_dns(store, "a.fr") == set()
    assert (await audit_actions(store)).count("trust_list.imported") == 2
