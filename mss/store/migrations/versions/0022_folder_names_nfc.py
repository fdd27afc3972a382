"""folder names in Unicode NFC (Net-Unicode)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 14:10:00

IMAP now stores and looks up every mailbox name in NFC (RFC 5198 §2, RFC 9051 §5.1;
mss.imap.namespaces.net_unicode), so that "é" sent precomposed or decomposed names
one folder. A folder created before in another form would no longer be found by the
name LIST shows: it takes its NFC name here, unless a folder of that name already
exists in its mailbox (then it keeps its name, and stays reachable only through the
webmail and the operator's tools; the upgrade logs a warning).
"""

from __future__ import annotations

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_LOG = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, mailbox_id, name FROM folders")).all()
    taken = {(mailbox_id, name) for _, mailbox_id, name in rows}
    for folder_id, mailbox_id, name in rows:
        normal = unicodedata.normalize("NFC", name)
        if normal == name:
            continue
        if (mailbox_id, normal) in taken:
            _LOG.warning("folder %d keeps its name %r: %r exists beside it",
                         folder_id, name, normal)
            continue
        bind.execute(sa.text("UPDATE folders SET name = :name WHERE id = :id"),
                     {"name": normal, "id": folder_id})
        taken.discard((mailbox_id, name))
        taken.add((mailbox_id, normal))


def downgrade() -> None:
    """The forms clients sent are not kept: names stay in NFC."""
