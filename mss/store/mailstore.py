"""The mail store: the only way other packages read or change mail, in pieces that each
do one thing; `store.mail` holds them, built once by `mss.store.store.Store`.

Invariants, each kept where its module says:
- blobs are written (and fsynced) before the job that references them runs, so a
  committed row never points at a missing file (mss.store.message_contents);
- UIDs and MODSEQs come from one atomic `UPDATE folders ... RETURNING`: UIDs are strictly
  increasing in commit order across nodes (RFC 3501 §2.3.1.1, RFC 7162 §3.1;
  mss.store.folder_counters);
- every change publishes a change event, delivered after commit.

Shared (ORG) mailboxes keep `\\Seen` per reader (RFC 4314 §5.3-style private flags):
pass `reader=` to the reads, STORE, COPY and MOVE, and that flag is read and written in
`private_flags` for that reader (mss.store.flags).
"""

from __future__ import annotations

from dataclasses import dataclass

from mss.store.entry_moves import EntryMoves
from mss.store.entry_reads import EntryReads
from mss.store.flag_changes import FlagChanges
from mss.store.mail_delivery import MailDelivery
from mss.store.mail_folders import MailFolders
from mss.store.mailboxes import MailboxLookup
from mss.store.message_contents import MessageContents


@dataclass(frozen=True, slots=True)
class MailStore:
    """The pieces of the mail store, each reached by what it does."""

    contents: MessageContents
    """Messages' contents: prepare (seal and write) a blob, read it, open a header."""
    mailboxes: MailboxLookup
    """A mailbox's id by address, its stored bytes."""
    folders: MailFolders
    """Folders by name; CREATE, RENAME, DELETE, SUBSCRIBE; claiming \\Recent."""
    reads: EntryReads
    """A folder's entries, save dates and STATUS counts as one reader sees them."""
    flags: FlagChanges
    """STORE, with UNCHANGEDSINCE and per-reader \\Seen."""
    delivery: MailDelivery
    """New messages into folders: the pipeline's deliveries, APPEND."""
    moves: EntryMoves
    """COPY, MOVE, EXPUNGE."""
