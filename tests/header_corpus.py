"""The header oddities of real mail kept in tests/corpus/headers/ (RFC 5322 §3.3, §4).

Each file is a header section without From/To (the channel under test writes those, so
that the sender rules let the message through) and a short body; every one is a
message MSS must store and give back unchanged, whatever it can read of its headers.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).parent / "corpus" / "headers"


def corpus_messages() -> list[tuple[str, bytes]]:
    """(name, header lines and body) for every file of the corpus, sorted by name."""
    return [(path.stem, path.read_bytes()) for path in sorted(CORPUS.glob("*.eml"))]


def addressed(sender: str, recipient: str, name: str, rest: bytes) -> bytes:
    """A corpus entry as a whole message from `sender` to `recipient`."""
    return (f"From: <{sender}>\r\nTo: <{recipient}>\r\nX-Corpus: {name}\r\n".encode()
            + rest)
