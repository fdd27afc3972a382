"""Errors of the directory services: each says what the operator can fix."""

from __future__ import annotations


class DirectoryError(Exception):
    """A request the directory refuses (unknown mailbox, rule of docs/architecture.md §3
    broken...)."""


class UnknownMailbox(DirectoryError):
    def __init__(self, address: str) -> None:
        super().__init__(f"no such mailbox: {address}")
        self.address = address


class UnknownProfessional(DirectoryError):
    def __init__(self, ident: str) -> None:
        super().__init__(f"no such professional: {ident}")
        self.ident = ident


class UnknownPatient(DirectoryError):
    def __init__(self, ins: str) -> None:
        super().__init__(f"no such patient: {ins}")
        self.ins = ins


class MailboxKindRule(DirectoryError):
    """A request that breaks the rules of mailbox kinds (docs/architecture.md §3)."""
