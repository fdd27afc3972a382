"""Threads of one conversation, linked by Message-ID, In-Reply-To and References only
(RFC 5322 §3.6.4), never by subject: two messages with the same subject and no header
linking them are two threads, a reply whose subject changed stays in its thread.

Pure: the messages and their header ids in, the threads out (oldest message first in
each thread, newest thread first).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")

T = TypeVar("T")


def message_ids(value: str, *, fold: bool = True) -> list[str]:
    """The msg-ids of a Message-ID, In-Reply-To or References field (RFC 5322 §3.6.4),
    case-folded for comparison unless `fold` is False."""
    found = _MESSAGE_ID.findall(value or "")
    return [i.lower() for i in found] if fold else found


@dataclass(frozen=True, slots=True)
class ThreadLinks(Generic[T]):
    """One message with what links it: its own id and the ids it names as parents."""

    item: T
    at: datetime
    message_id: str
    in_reply_to: str = ""
    references: str = ""


def threads_by_headers(messages: Sequence[ThreadLinks[T]]) -> list[list[T]]:
    """Union of the messages that name each other's ids (a reply names its parent in
    In-Reply-To and its ancestors in References); each thread sorted by date."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[rb] = ra

    keys: list[str] = []
    for index, message in enumerate(messages):
        own = message_ids(message.message_id)
        key = own[0] if own else f"#{index}"  # without an id a message is its own thread
        keys.append(key)
        root(key)
        for linked in message_ids(message.references) + message_ids(message.in_reply_to):
            join(key, linked)
    groups: dict[str, list[ThreadLinks[T]]] = {}
    for key, message in zip(keys, messages, strict=True):
        groups.setdefault(root(key), []).append(message)
    ordered = [sorted(group, key=lambda m: m.at) for group in groups.values()]
    ordered.sort(key=lambda group: group[-1].at, reverse=True)
    return [[m.item for m in group] for group in ordered]


def reply_fields(message_id: str, in_reply_to: str, references: str) -> dict[str, str]:
    """In-Reply-To and References of a reply to a message (RFC 5322 §3.6.4): its
    References (else its In-Reply-To, when it names one id) followed by its Message-ID."""
    own = message_ids(message_id, fold=False)
    if not own:
        return {}
    ancestors = (message_ids(references, fold=False)
                 or message_ids(in_reply_to, fold=False)[:1])
    chain = [*ancestors, own[0]]
    return {"In-Reply-To": f"<{own[0]}>", "References": " ".join(f"<{i}>" for i in chain)}
