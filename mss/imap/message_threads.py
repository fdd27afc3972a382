"""THREAD algorithms of RFC 5256 §4 and the thread response syntax (§5), pure.

ORDEREDSUBJECT groups by base subject, threads in the order of their first message's
sent date, every later message a child of the first. REFERENCES links messages by
Message-ID, References and In-Reply-To (steps 1-4 of the algorithm), then merges
roots that share a base subject (step 5) and sorts each level by sent date (step 6);
ties always go to the lower sequence number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from mss.store.sort_keys import ascii_upper, base_subject, decode_subject

_MESSAGE_ID = re.compile(r"<([^<>]+)>")


@dataclass(frozen=True, slots=True)
class Message:
    uid: int
    number: int  # what the reply names: the sequence number, or the UID for UID THREAD
    message_id: str
    subject: str  # base subject, ascii-casemapped (RFC 5256 §2.1)
    sent: datetime
    references: tuple[str, ...] = ()
    reply: bool = False  # the subject had a Re:/Fwd: leader or trailer (§4 step 5)

    def with_header(self, references: list[str], in_reply_to: list[str], subject: str) -> Message:
        """The References (or, without them, the first In-Reply-To id) and the reply mark."""
        found = [i.strip() for value in references for i in _MESSAGE_ID.findall(value)]
        if not found:
            replied = [i.strip() for value in in_reply_to for i in _MESSAGE_ID.findall(value)]
            found = replied[:1]
        text = " ".join(decode_subject(subject).split())
        return replace(self, references=tuple(found),
                       reply=bool(text) and base_subject(text) != text)


@dataclass(eq=False)
class Node:
    message: Message | None = None
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    def sort_key(self) -> tuple[datetime, int]:
        """A message's date; an empty node takes its first child's (§4 step 6)."""
        if self.message is not None:
            return self.message.sent, self.message.number
        return self.children[0].sort_key() if self.children else (datetime.min, 0)

    def subject(self) -> str:
        if self.message is not None:
            return self.message.subject
        return self.children[0].subject() if self.children else ""

    def adopt(self, child: Node) -> None:
        if child.parent is not None:
            child.parent.children.remove(child)
        child.parent = self
        self.children.append(child)

    def is_ancestor_of(self, other: Node) -> bool:
        node: Node | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False


def _sorted(nodes: list[Node]) -> list[Node]:
    nodes.sort(key=Node.sort_key)
    for node in nodes:
        _sorted(node.children)
    return nodes


def ordered_subject_threads(messages: list[Message]) -> list[Node]:
    """RFC 5256 §4 ORDEREDSUBJECT."""
    groups: dict[str, list[Message]] = {}
    for message in sorted(messages, key=lambda m: (m.subject, m.sent, m.number)):
        groups.setdefault(message.subject, []).append(message)
    threads = []
    for members in groups.values():
        root = Node(members[0])
        for message in members[1:]:
            root.adopt(Node(message))
        threads.append(root)
    return _sorted(threads)


def reference_threads(messages: list[Message]) -> list[Node]:
    """RFC 5256 §4 REFERENCES."""
    table: dict[str, Node] = {}
    for position, message in enumerate(messages):  # step 1
        key = message.message_id.strip().strip("<>") or f"\0{position}"
        node = table.get(key)
        if node is None or node.message is not None:  # a duplicate Message-ID: its own
            if node is not None:
                key = f"\0{position}"
            node = table[key] = Node()
        node.message = message
        previous: Node | None = None
        for reference in message.references:
            linked = table.setdefault(reference, Node())
            if previous is not None and linked.parent is None and not linked.is_ancestor_of(
                    previous):
                previous.adopt(linked)
            previous = linked
        if node.parent is not None:
            node.parent.children.remove(node)
            node.parent = None
        if previous is not None and previous is not node and not node.is_ancestor_of(previous):
            previous.adopt(node)
    roots = [node for node in table.values() if node.parent is None]  # step 2
    roots = _pruned(roots, at_root=True)  # step 3
    _sorted(roots)  # step 4
    return _sorted(_merged_by_subject(roots))  # steps 5 and 6


def _pruned(nodes: list[Node], *, at_root: bool) -> list[Node]:
    kept: list[Node] = []
    for node in nodes:
        node.children = _pruned(node.children, at_root=False)
        for child in node.children:
            child.parent = node
        if node.message is None and not node.children:
            continue
        if node.message is None and (not at_root or len(node.children) == 1):
            for child in node.children:
                child.parent = None
            kept.extend(node.children)
            continue
        kept.append(node)
    return kept


def _merged_by_subject(roots: list[Node]) -> list[Node]:
    """Step 5: roots sharing a base subject become one thread."""
    chosen: dict[str, Node] = {}
    for root in roots:
        subject = root.subject()
        if not subject:
            continue
        current = chosen.get(subject)
        if current is None or (root.message is None and current.message is not None) or (
                current.message is not None and current.message.reply
                and root.message is not None and not root.message.reply):
            chosen[subject] = root
    merged: list[Node] = []
    for root in roots:
        subject = root.subject()
        target = chosen.get(subject) if subject else None
        if target is None or target is root:
            merged.append(root)
            continue
        if target.message is None and root.message is None:
            for child in list(root.children):
                target.adopt(child)
        elif target.message is None or (root.message is not None and root.message.reply and not (
                target.message.reply)):
            target.adopt(root)
        else:
            container = Node()
            position = merged.index(target) if target in merged else None
            container.adopt(target)
            container.adopt(root)
            chosen[subject] = container
            if position is not None:
                merged[position] = container
            else:
                merged.append(container)
    return [root for root in merged if root.parent is None]


def render_threads(threads: list[Node]) -> bytes:
    """RFC 5256 §5 ``thread-list``: a chain of single children is ``(1 2 3)``, several
    children are nested ``(1 (2)(3))``."""
    return b"".join(b"(" + _render(thread) + b")" for thread in threads)


def _render(node: Node) -> bytes:
    parts: list[bytes] = []
    while True:
        if node.message is not None:
            parts.append(b"%d" % node.message.number)
        if len(node.children) != 1:
            break
        node = node.children[0]
    if node.children:
        parts.append(b"".join(b"(" + _render(child) + b")" for child in node.children))
    return b" ".join(parts)


def base_of(subject: str) -> str:
    return ascii_upper(base_subject(subject))
