"""The one error of the mail store's pieces (mss.store.mailstore): a request refused,
with the IMAP response code the adapters answer with (RFC 5530)."""

from __future__ import annotations


class MailStoreError(Exception):
    """A request the store refuses (unknown folder, name taken, ...); nothing changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # NONEXISTENT | ALREADYEXISTS | CANNOT | INUSE
