"""SEARCH and UID SEARCH over stored messages (RFC 3501 §6.4.4, RFC 4731, RFC 7162)."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, imapclient_for, put_messages, raw_login, run, unique
from tests.imap.corpus import FORWARDED, NESTED, NON_ASCII, SIMPLE, XDM

pytestmark = pytest.mark.asyncio(loop_scope="module")
MESSAGES = [SIMPLE, NESTED, FORWARDED, XDM, NON_ASCII]


@pytest.fixture(scope="module")
def folder() -> str:
    return unique("search")


async def selected(imap: ImapWorld, folder: str) -> object:
    client = await run(imapclient_for, imap, imap.world.alice)
    folders = [name for _, _, name in await run(client.list_folders)]
    if folder not in folders:
        await put_messages(imap, imap.world.alice, folder, MESSAGES)
    await run(client.select_folder, folder)
    return client


async def test_header_text_and_decoded_searches(imap: ImapWorld, folder: str) -> None:
    client = await selected(imap, folder)
    assert await run(client.search, ["FROM", "gregory.house"]) == [1, 3]
    assert await run(client.search, ["SUBJECT", "vérifier"], "UTF-8") == [5]
    assert await run(client.search, ["BODY", "échographie"], "UTF-8") == [5]
    assert await run(client.search, ["TEXT", "sorti ce jour"]) == [3]  # inside rfc822 part
    assert await run(client.search, ["HEADER", "Reply-To", "biologiste"]) == [2]
    await run(client.logout)


async def test_boolean_keys_sizes_and_sequence_sets(imap: ImapWorld, folder: str) -> None:
    client = await selected(imap, folder)
    assert await run(client.search, ["OR", "SUBJECT", "Document", "SUBJECT", "Resultats"]) == [2, 4]
    assert await run(client.search, ["NOT", "FROM", "hopital", "2:*"]) == [2]
    assert await run(client.search, ["LARGER", str(len(XDM) - 1)]) == [4]
    assert await run(client.search, ["SENTBEFORE", "15-May-2024"]) == [1, 3]
    assert await run(client.search, ["4:*"]) == [4, 5]
    await run(client.logout)


async def test_flag_keys_and_uid_search(imap: ImapWorld, folder: str) -> None:
    client = await selected(imap, folder)
    await run(client.add_flags, [2], [b"\\Flagged"])
    assert await run(client.search, ["FLAGGED"]) == [2]
    assert await run(client.search, ["UNFLAGGED", "UID", "1:3"]) == [1, 3]
    raw = await raw_login(imap, imap.world.alice)
    await raw.command("s", f"SELECT {folder}")
    reply = await raw.command("u", "UID SEARCH FLAGGED")
    assert reply[0] == b"* SEARCH 2\r\n"
    esearch = await raw.command("e", "SEARCH RETURN (MIN MAX COUNT) ALL")
    assert esearch[0] == b'* ESEARCH (TAG "e") MIN 1 MAX 5 COUNT 5\r\n'
    modseq = await raw.command("m", "SEARCH MODSEQ 1")
    assert modseq[0].startswith(b"* OK [HIGHESTMODSEQ ")  # RFC 7162 §3.1: CONDSTORE now on
    assert modseq[1].startswith(b"* SEARCH 1 2 3 4 5 (MODSEQ ")
    charset = await raw.command("c", "SEARCH CHARSET KOI8-R ALL")
    assert charset[-1].startswith(b"c NO [BADCHARSET")
    await raw.close()
    await run(client.logout)
