"""stored certificate DNs in the one comparable form of mss.distinguished_names

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 20:50:00

Until this revision the trust list, the certificate bindings and the applications' DNs
were stored with the letter case of their values kept, while the policy compared them
case-folded and the certificate checks with RFC 4518 preparation: three meanings of
"the same subject". Every stored DN is rewritten with `dn_lookup_key` (RFC 4514 parsing,
caseIgnoreMatch, `S=` read as `ST=`), the one form every part now stores and looks up.
Two trust-list rows of one domain that become the same key are merged into one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mss.distinguished_names import dn_lookup_key

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _rekey(table: str, column: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
    for row_id, dn in rows:
        key = dn_lookup_key(dn)
        if key != dn:
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :key WHERE id = :id"),
                         {"key": key, "id": row_id})


def _rekey_trusted_operators() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, domain, subject_dn FROM trusted_operators ORDER BY id")).all()
    seen: set[tuple[str, str]] = set()
    for row_id, domain, dn in rows:
        key = dn_lookup_key(dn)
        if (domain, key) in seen:
            bind.execute(sa.text("DELETE FROM trusted_operators WHERE id = :id"),
                         {"id": row_id})
            continue
        seen.add((domain, key))
    for row_id, domain, dn in rows:
        key = dn_lookup_key(dn)
        if key != dn:
            bind.execute(sa.text(
                "UPDATE trusted_operators SET subject_dn = :key WHERE id = :id"),
                {"key": key, "id": row_id})


def upgrade() -> None:
    _rekey("applications", "certificate_dn")
    _rekey("certificate_bindings", "subject_dn")
    _rekey_trusted_operators()


def downgrade() -> None:
    """The keys are a folded form: the spellings they came from are not kept."""
