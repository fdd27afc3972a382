"""Migration 0010 rewrites every stored DN in the one form `dn_lookup_key` gives, so
that a DN stored with the old case-kept form is still found after the upgrade."""

from __future__ import annotations

import sqlalchemy as sa

from mss.distinguished_names import dn_lookup_key
from mss.store import schema
from mss.store.db import create_engine

OLD_FORM = "CN=smtp-1.Example.fr,OU=1750048886,O=GIP X,S=Paris (75),C=FR"
SAME_SUBJECT = "cn=smtp-1.example.fr, ou=1750048886, o=GIP  X, st=Paris (75), c=FR"


async def test_stored_dns_are_rekeyed_and_trust_rows_merged(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await schema.upgrade(engine, "0009")
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO trusted_operators (domain, subject_dn, description, updated)"
                " VALUES ('example.fr', :a, '', ''), ('example.fr', :b, '', ''),"
                " ('other.fr', :a, '', '')"), {"a": OLD_FORM, "b": SAME_SUBJECT})
            await conn.execute(sa.text(
                "INSERT INTO applications (name, owner_structure, certificate_dn, created_at)"
                " VALUES ('lab', '', :a, '2026-01-01 00:00:00'),"
                " ('pwd', '', NULL, '2026-01-01 00:00:00')"), {"a": OLD_FORM})
        await schema.upgrade(engine)
        async with engine.connect() as conn:
            trusted = (await conn.execute(sa.text(
                "SELECT domain, subject_dn FROM trusted_operators ORDER BY domain"))).all()
            apps = (await conn.execute(sa.text(
                "SELECT name, certificate_dn FROM applications ORDER BY name"))).all()
    finally:
        await engine.dispose()
    key = dn_lookup_key(SAME_SUBJECT)
    assert key == dn_lookup_key(OLD_FORM)
    assert [tuple(row) for row in trusted] == [("example.fr", key), ("other.fr", key)]
    assert [tuple(row) for row in apps] == [("lab", key), ("pwd", None)]
