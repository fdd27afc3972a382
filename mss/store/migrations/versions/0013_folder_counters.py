"""folder counters kept by the database on every entry change

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 21:10:00

STATUS and LIST-STATUS (RFC 3501 §6.3.10, RFC 5819) of a folder of 10,000 messages must
not count 10,000 rows (Dovecot reads its index header): `folders` keeps the number of
entries, of entries without `\\Seen`, of entries with `\\Deleted` and the sum of their
sizes, and triggers on `folder_entries` keep them in step with every INSERT, DELETE and
UPDATE of flags, whatever statement makes it, in the same transaction. The counts of
existing folders are computed here. (An ORG mailbox's readers keep `\\Seen` privately:
their unseen count is still counted.)

A later migration that rebuilds `folder_entries` with a batch "move and copy" on SQLite
drops these triggers: it must create them again (`create_counter_triggers`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COUNTERS = ('message_count', 'unseen_count', 'deleted_count', 'total_size')

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER folder_counters_insert AFTER INSERT ON folder_entries BEGIN
  UPDATE folders SET message_count = message_count + 1,
    unseen_count = unseen_count + (instr(COALESCE(NEW.flags, ''), '\\Seen') = 0),
    deleted_count = deleted_count + (instr(COALESCE(NEW.flags, ''), '\\Deleted') > 0),
    total_size = total_size + COALESCE((SELECT size FROM messages WHERE id = NEW.message_id), 0)
  WHERE id = NEW.folder_id;
END""",
    """CREATE TRIGGER folder_counters_delete AFTER DELETE ON folder_entries BEGIN
  UPDATE folders SET message_count = message_count - 1,
    unseen_count = unseen_count - (instr(COALESCE(OLD.flags, ''), '\\Seen') = 0),
    deleted_count = deleted_count - (instr(COALESCE(OLD.flags, ''), '\\Deleted') > 0),
    total_size = total_size - COALESCE((SELECT size FROM messages WHERE id = OLD.message_id), 0)
  WHERE id = OLD.folder_id;
END""",
    """CREATE TRIGGER folder_counters_flags AFTER UPDATE OF flags ON folder_entries BEGIN
  UPDATE folders SET
    unseen_count = unseen_count + (instr(COALESCE(NEW.flags, ''), '\\Seen') = 0)
                                - (instr(COALESCE(OLD.flags, ''), '\\Seen') = 0),
    deleted_count = deleted_count + (instr(COALESCE(NEW.flags, ''), '\\Deleted') > 0)
                                  - (instr(COALESCE(OLD.flags, ''), '\\Deleted') > 0)
  WHERE id = NEW.folder_id;
END""",
)

_PG_FUNCTION = """CREATE FUNCTION mss_folder_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE folders SET message_count = message_count + 1,
      unseen_count = unseen_count + (strpos(COALESCE(NEW.flags, ''), '\\Seen') = 0)::int,
      deleted_count = deleted_count + (strpos(COALESCE(NEW.flags, ''), '\\Deleted') > 0)::int,
      total_size = total_size
        + COALESCE((SELECT size FROM messages WHERE id = NEW.message_id), 0)
    WHERE id = NEW.folder_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE folders SET message_count = message_count - 1,
      unseen_count = unseen_count - (strpos(COALESCE(OLD.flags, ''), '\\Seen') = 0)::int,
      deleted_count = deleted_count - (strpos(COALESCE(OLD.flags, ''), '\\Deleted') > 0)::int,
      total_size = total_size
        - COALESCE((SELECT size FROM messages WHERE id = OLD.message_id), 0)
    WHERE id = OLD.folder_id;
  ELSE
    UPDATE folders SET
      unseen_count = unseen_count + (strpos(COALESCE(NEW.flags, ''), '\\Seen') = 0)::int
                                  - (strpos(COALESCE(OLD.flags, ''), '\\Seen') = 0)::int,
      deleted_count = deleted_count + (strpos(COALESCE(NEW.flags, ''), '\\Deleted') > 0)::int
                                    - (strpos(COALESCE(OLD.flags, ''), '\\Deleted') > 0)::int
    WHERE id = NEW.folder_id;
  END IF;
  RETURN NULL;
END $$"""
_PG_TRIGGER = ("CREATE TRIGGER folder_counters AFTER INSERT OR DELETE OR UPDATE OF flags "
               "ON folder_entries FOR EACH ROW EXECUTE FUNCTION mss_folder_counters()")


def create_counter_triggers() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)


def upgrade() -> None:
    with op.batch_alter_table('folders', schema=None) as batch_op:
        for name in COUNTERS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=False,
                                          server_default='0'))
    find = 'instr' if op.get_bind().dialect.name == 'sqlite' else 'strpos'
    op.execute(f"""UPDATE folders SET
      message_count = (SELECT COUNT(*) FROM folder_entries e WHERE e.folder_id = folders.id),
      unseen_count = (SELECT COUNT(*) FROM folder_entries e WHERE e.folder_id = folders.id
                      AND {find}(COALESCE(e.flags, ''), '\\Seen') = 0),
      deleted_count = (SELECT COUNT(*) FROM folder_entries e WHERE e.folder_id = folders.id
                       AND {find}(COALESCE(e.flags, ''), '\\Deleted') > 0),
      total_size = COALESCE((SELECT SUM(m.size) FROM folder_entries e
                             JOIN messages m ON m.id = e.message_id
                             WHERE e.folder_id = folders.id), 0)""")
    create_counter_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('insert', 'delete', 'flags'):
            op.execute(f"DROP TRIGGER IF EXISTS folder_counters_{name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS folder_counters ON folder_entries")
        op.execute("DROP FUNCTION IF EXISTS mss_folder_counters()")
    with op.batch_alter_table('folders', schema=None) as batch_op:
        for name in reversed(COUNTERS):
            batch_op.drop_column(name)
