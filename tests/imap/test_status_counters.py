"""STATUS from the counters the database keeps (migration 0013): after APPEND, STORE,
EXPUNGE, COPY, MOVE and a delivery, STATUS says what FETCH shows, with imaplib over TLS."""

from __future__ import annotations

import re

import pytest

from tests.imap.conftest import ImapWorld, run, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _status(client, folder: str) -> dict[str, int]:
    typ, data = client.status(folder, "(MESSAGES UNSEEN SIZE DELETED)")
    assert typ == "OK", data
    text = data[0].decode()
    return {k: int(v) for k, v in re.findall(r"(MESSAGES|UNSEEN|SIZE|DELETED) (\d+)", text)}


def _counted(client, folder: str) -> dict[str, int]:
    """The same figures from the messages themselves (EXAMINE, FETCH)."""
    typ, data = client.select(folder, readonly=True)
    assert typ == "OK", data
    if int(data[0]) == 0:
        return {"MESSAGES": 0, "UNSEEN": 0, "SIZE": 0, "DELETED": 0}
    typ, rows = client.fetch("1:*", "(FLAGS RFC822.SIZE)")
    lines = [r.decode() for r in rows if isinstance(r, bytes)]
    sizes = [int(re.search(r"RFC822.SIZE (\d+)", line).group(1)) for line in lines]
    return {"MESSAGES": len(lines), "UNSEEN": sum("\\Seen" not in line for line in lines),
            "SIZE": sum(sizes), "DELETED": sum("\\Deleted" in line for line in lines)}


async def test_status_counters_follow_every_change(imap: ImapWorld) -> None:
    user = imap.world.alice
    client = await imap.login(user)
    source, target = unique("cnt"), unique("cnt")

    def scenario() -> list[tuple[dict[str, int], dict[str, int]]]:
        seen: list[tuple[dict[str, int], dict[str, int]]] = []

        def check() -> None:
            for folder in (source, target, "INBOX"):
                seen.append((_status(client, folder), _counted(client, folder)))

        assert client.create(source)[0] == "OK" and client.create(target)[0] == "OK"
        for n in range(6):
            flags = "(\\Seen)" if n % 2 else "()"
            body = f"Subject: m{n}\r\n\r\n{'x' * (100 * n + 7)}\r\n".encode()
            assert client.append(source, flags, None, body)[0] == "OK"
        check()
        client.select(source)
        client.store("1:2", "+FLAGS", "(\\Seen $Label1)")
        client.store("3", "-FLAGS", "(\\Seen)")
        client.store("4:5", "+FLAGS.SILENT", "(\\Deleted)")
        check()
        client.select(source)
        client.store("5", "-FLAGS", "(\\Deleted)")
        client.expunge()
        check()
        client.select(source)
        client.copy("1:2", target)
        client._simple_command("MOVE", "3", target)
        check()
        client.select(target)
        client.store("1:*", "FLAGS", "(\\Deleted)")
        client.close()
        check()
        return seen

    await imap.deliver([user], subject="counted")
    pairs = await run(scenario)
    for status, counted in pairs:
        assert status == counted
    await run(client.logout)
