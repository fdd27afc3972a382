"""folder counts kept late for the writes that take their folder row late

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 15:20:00

On PostgreSQL IMAP's STORE, EXPUNGE and MOVE take their folder's row only at the end of
the batch (mss.store.late_counters): the trigger of 0013 would lock it at once, in the
job, when it moves the folder's counts for an entry's new flags or its removal. Those
writes now say so for the statements that make them (`mss.folder_counts = 'late'`, a
setting local to the transaction) and give the counts' changes to the end of the batch,
which writes them with the UIDNEXT and HIGHESTMODSEQ it takes. Every other write is
counted by the trigger as before. SQLite's triggers are unchanged (one writer).
"""

from __future__ import annotations

from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

_LATE = """
  IF current_setting('mss.folder_counts', true) = 'late' THEN
    RETURN NULL;  -- counted at the end of the batch (mss.store.late_counters)
  END IF;"""

_FUNCTION = """CREATE OR REPLACE FUNCTION mss_folder_counters() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN{late}
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


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_FUNCTION.format(late=_LATE))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_FUNCTION.format(late=""))
