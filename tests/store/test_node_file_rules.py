"""The rules by which node files travel through the database (mss.store.node_files,
`sync`): two data folders, one database, each folder synced as its node would. A newer
row rewrites the file (its mtime then the row's), a file changed here is sealed anew
over the version read, a file older than its row never overwrites it, a tie is the
database's, hidden files are never sealed. Times are set on the files (os.utime), never
read from a clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from mss.store.node_files import CHECK_NAME, NodeFiles, SyncOutcome
from mss.store.store import Store
from mss.store.tables import SealedFile

T = SealedFile.__table__
CRL = "pki/crl.pem"
T1 = 1_767_000_000_000_000_000  # ns since the epoch
T2 = T1 + 60 * 10**9
T3 = T2 + 60 * 10**9


class Node:
    """One node's data folder and its NodeFiles (which remembers between passes)."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.files = NodeFiles(store.keyring)

    async def sync(self) -> SyncOutcome:
        async with self.store.write_engine.begin() as connection:
            return await self.files.sync(connection, self.folder, [self.folder / "pki"])

    def write(self, name: str, content: bytes, mtime_ns: int) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, ns=(mtime_ns, mtime_ns))
        return path

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def mtime(self, name: str) -> int:
        return (self.folder / name).stat().st_mtime_ns


async def row(store: Store, name: str) -> tuple[bytes, int, datetime]:
    """The row's content (opened), version and updated_at."""
    async with store.write_engine.begin() as connection:
        sealed, version, updated_at = (await connection.execute(
            select(T.c.sealed, T.c.version, T.c.updated_at).where(T.c.name == name))).one()
    return NodeFiles(store.keyring).open(name, sealed), version, updated_at


def at(nanoseconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanoseconds // 1000)


async def two_nodes(store: Store, tmp_path: Path) -> tuple[Node, Node]:
    """A with a CRL at T1, sealed; B brought from the database."""
    a, b = Node(store, tmp_path / "a"), Node(store, tmp_path / "b")
    a.write(CRL, b"crl 1", T1)
    assert (await a.sync()).published == [CRL]
    assert (await b.sync()).rewritten == [CRL]
    return a, b


async def test_a_file_the_database_lacks_is_sealed_and_written_on_another_node_with_its_time(
    store: Store, tmp_path: Path,
) -> None:
    _, b = await two_nodes(store, tmp_path)
    assert b.read(CRL) == b"crl 1"
    assert b.mtime(CRL) == T1  # the row's updated_at: file and row agree in time
    assert await row(store, CRL) == (b"crl 1", 1, at(T1))
    assert ((b.folder / CRL).stat().st_mode & 0o777) == 0o600


async def test_a_newer_row_rewrites_the_file(store: Store, tmp_path: Path) -> None:
    a, b = await two_nodes(store, tmp_path)
    a.write(CRL, b"crl 2: one more serial revoked", T2)

    assert await a.sync() == SyncOutcome(published=[CRL])
    assert await row(store, CRL) == (b"crl 2: one more serial revoked", 2, at(T2))
    assert await b.sync() == SyncOutcome(rewritten=[CRL])
    assert b.read(CRL) == b"crl 2: one more serial revoked"
    assert b.mtime(CRL) == T2
    # in step: the next passes change nothing
    assert await a.sync() == SyncOutcome()
    assert await b.sync() == SyncOutcome()


async def test_a_changed_local_file_is_republished_over_the_version_read(
    store: Store, tmp_path: Path,
) -> None:
    a, b = await two_nodes(store, tmp_path)
    b.write(CRL, b"crl 2 from b", T2)
    assert await b.sync() == SyncOutcome(published=[CRL])
    a.write(CRL, b"crl 3 from a", T3)
    assert await a.sync() == SyncOutcome(published=[CRL])
    assert await row(store, CRL) == (b"crl 3 from a", 3, at(T3))
    assert await b.sync() == SyncOutcome(rewritten=[CRL])
    assert b.read(CRL) == b"crl 3 from a"


async def test_an_older_file_never_overwrites_the_database(
    store: Store, tmp_path: Path,
) -> None:
    a, b = await two_nodes(store, tmp_path)
    a.write(CRL, b"crl 2", T2)
    await a.sync()
    # B's CRL changed, but before the row did (a backup put back with its old mtime)
    b.write(CRL, b"crl 1 bis, older", T1 + 1000)

    assert await b.sync() == SyncOutcome(rewritten=[CRL])
    assert await row(store, CRL) == (b"crl 2", 2, at(T2))
    assert b.read(CRL) == b"crl 2" and b.mtime(CRL) == T2


async def test_of_two_nodes_changing_one_file_the_newest_wins_whoever_syncs_first(
    store: Store, tmp_path: Path,
) -> None:
    a, b = await two_nodes(store, tmp_path)
    a.write(CRL, b"crl from a, at T2", T2)
    b.write(CRL, b"crl from b, at T3", T3)

    assert await a.sync() == SyncOutcome(published=[CRL])  # first, but older
    assert await b.sync() == SyncOutcome(published=[CRL])  # newer: over A's
    assert await a.sync() == SyncOutcome(rewritten=[CRL])
    assert a.read(CRL) == b.read(CRL) == b"crl from b, at T3"
    assert await row(store, CRL) == (b"crl from b, at T3", 3, at(T3))


async def test_a_tie_in_time_is_the_databases(store: Store, tmp_path: Path) -> None:
    _, b = await two_nodes(store, tmp_path)
    b.write(CRL, b"same time, other content", T1)

    assert await b.sync() == SyncOutcome(rewritten=[CRL])
    assert b.read(CRL) == b"crl 1"
    assert await row(store, CRL) == (b"crl 1", 1, at(T1))


async def test_a_removed_file_comes_back_and_hidden_files_are_never_sealed(
    store: Store, tmp_path: Path,
) -> None:
    a, b = await two_nodes(store, tmp_path)
    a.write("pki/.lock", b"", T2)
    a.write("pki/.crl.pem.x1y2z3", b"half a CRL", T2)  # a writer's temporary file
    a.write("pki/private/server.key", b"key", T2)
    (b.folder / CRL).unlink()

    assert await a.sync() == SyncOutcome(published=["pki/private/server.key"])
    assert await b.sync() == SyncOutcome(rewritten=[CRL, "pki/private/server.key"])
    assert b.read(CRL) == b"crl 1"
    async with store.write_engine.begin() as connection:
        names = set((await connection.execute(select(T.c.name))).scalars())
    assert names - {CHECK_NAME} == {CRL, "pki/private/server.key"}


async def test_rows_outside_the_folders_synced_are_left_alone(
    store: Store, tmp_path: Path,
) -> None:
    """`mss certs` syncs the PKI folder only: the DKIM rows wait for the node's pass."""
    a, b = Node(store, tmp_path / "a"), Node(store, tmp_path / "b")
    a.write("dkim/mss.dkim.key", b"dkim key", T1)
    async with store.write_engine.begin() as connection:
        outcome = await a.files.sync(connection, a.folder, [a.folder / "dkim"])
    assert outcome.published == ["dkim/mss.dkim.key"]

    assert await b.sync() == SyncOutcome()  # its PKI folder only
    assert not (b.folder / "dkim").exists()
