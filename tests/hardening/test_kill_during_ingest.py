"""SIGKILL of `mss serve` while clients submit, repeated: no acknowledged message lost.

Each round starts `python -m mss serve --demo` on the same data folder and database
(ports 0, read from the lines it prints before "ready"), runs four submission clients
that send messages as fast as the node accepts them, and kills the node with SIGKILL
after a random number of `250` replies. Afterwards (DESIGN §1: 250 only after commit):
- every message acknowledged with 250 is in Bruno's INBOX, byte for byte after the trace
  fields the node prepends;
- a message without its 250 is absent or complete (never a prefix);
- `verify_store` finds no fault (no row naming a missing or corrupt blob).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import signal
import ssl
import sys
from pathlib import Path

import aiosmtplib
import pytest

from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.verify import verify_store

ROUNDS = 3
CLIENTS = 4
ALICE = "dr.alice.martin@mss.localhost"
BRUNO = "dr.bruno.petit@mss.localhost"
pytestmark = pytest.mark.timeout(180)


def _env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({"MSS_DATA_DIR": str(settings.data_dir),
                "MSS_DATABASE__URL": settings.database_url,
                "PYTHONPATH": str(Path(__file__).parents[2])})
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    for name in ("IMAP", "IMAPS", "HTTP", "SUBMISSIONS"):
        env[f"MSS_LISTENERS__{name}__ENABLED"] = "false"
    return env


async def _start(settings) -> tuple[asyncio.subprocess.Process, int, str]:  # type: ignore[no-untyped-def]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mss", "serve", "--demo", env=_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert child.stdout is not None
    text = ""
    while not text.endswith("ready (Ctrl-C to stop)\n"):
        line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
        assert line, "mss serve ended before it was ready:\n" + text
        text += line
    port = int(re.search(r"Submission on 127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
    password = re.search(r"demo password for every login below: (\S+)", text)
    assert password is not None
    return child, port, password.group(1)


def _message(tag: str, rng: random.Random) -> bytes:
    body = os.urandom(rng.randint(100, 40_000)).hex()
    lines = "\r\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    return (f"From: <{ALICE}>\r\nTo: <{BRUNO}>\r\nSubject: kill {tag}\r\n"
            f"Message-ID: <{tag}@kill.test>\r\n\r\n{lines}\r\n").encode()


async def _client(port: int, password: str, name: str, sent: dict[str, bytes],
                  acked: set[str], enough: asyncio.Event, target: int, seed: int) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    rng = random.Random(seed)
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                             tls_context=context, timeout=30)
    try:
        # inside: under load a client may still be logging in when the node is killed
        await client.connect()
        await client.starttls()
        await client.login(ALICE, password)
        for n in range(10_000):
            tag = f"{name}-{n}"
            raw = _message(tag, rng)
            sent[tag] = raw  # sent from here on: may or may not be stored
            response = await client.sendmail(ALICE, [BRUNO], raw)
            assert response[0] == {}
            acked.add(tag)
            if len(acked) >= target:
                enough.set()
    except (TimeoutError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError):
        return  # the node was killed


async def _round(settings, number: int, sent: dict[str, bytes], acked: set[str]) -> None:  # type: ignore[no-untyped-def]
    child, port, password = await _start(settings)
    enough = asyncio.Event()
    target = len(acked) + random.Random(number).randint(5, 40)
    clients = [asyncio.create_task(_client(port, password, f"r{number}c{c}", sent, acked,
                                           enough, target, seed=number * 10 + c))
               for c in range(CLIENTS)]
    waiting = asyncio.create_task(enough.wait())
    await asyncio.wait([waiting, *clients], timeout=90, return_when=asyncio.FIRST_COMPLETED)
    assert enough.is_set(), [c.exception() for c in clients if c.done()]
    child.send_signal(signal.SIGKILL)
    await child.wait()
    assert child.returncode == -signal.SIGKILL
    await asyncio.gather(*clients)  # each ends on the dropped connection


def _body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1]


async def test_sigkill_during_ingest_loses_no_acknowledged_message(make_settings) -> None:
    settings = make_settings("killed", server={"domain": "mss.localhost",
                                               "patient_domain": "patient.mss.localhost"})
    sent: dict[str, bytes] = {}
    acked: set[str] = set()
    for number in range(ROUNDS):
        await _round(settings, number, sent, acked)

    store = await Store.open(settings)
    try:
        async with store.reading() as session:
            mailbox = await find_mailbox(session, BRUNO)
            assert mailbox is not None
            inbox = await store.mail.folders.named(session, mailbox.id, "INBOX")
            entries = await store.mail.reads.entries(session, inbox.id)
        stored: dict[str, bytes] = {}
        for entry in entries:
            raw = await store.mail.contents.read_raw(entry.mailbox_id, entry.blob_key)
            tag = re.search(rb"Message-ID: <([^@]+)@kill\.test>", raw)
            assert tag is not None
            stored[tag.group(1).decode()] = raw
        report = await verify_store(store)
    finally:
        await store.close()
    assert acked and len(acked) >= ROUNDS * 5
    missing = sorted(acked - set(stored))
    assert not missing, f"acknowledged but lost: {missing}"
    for tag, raw in stored.items():
        assert tag in sent
        assert hashlib.sha256(_body(raw)).digest() == hashlib.sha256(_body(sent[tag])).digest()
    assert report.ok, report.faults
