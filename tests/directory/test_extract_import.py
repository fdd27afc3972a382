"""National directory extract: rejects by line, idempotent re-import, search criteria."""

from __future__ import annotations

from pathlib import Path

import pytest

from mss.directory.directory_search import DirectoryQuery, find_directory_entry, search_directory
from mss.directory.identifiers import BulkAddressChecker, InvalidIdentifier, check_address
from mss.directory.national_extract import COLUMN_COUNT, ExtractHeaderError, name_key
from mss.directory.national_import import import_extract
from mss.directory.synthetic_extract import synthetic_lines, write_synthetic_extract

GOOD = 300


def line(kind: str = "PER", address: str = "x@a.mssante.fr", id_type: str = "8",
         ident: str = "10000000009", last: str = "Lefèvre", first: str = "Élodie",
         profession: str = "10", postcode: str = "75013", service: str = "") -> str:
    fields = [""] * COLUMN_COUNT
    fields[0:4] = [kind, address, id_type, ident]
    fields[7] = service
    fields[9:11] = [last, first]
    fields[13:15] = [profession, "Médecin"]
    fields[28:30] = [postcode, postcode[:2]]
    return "|".join(fields)


MALFORMED = (
    "PER|too|few|columns",                                       # line GOOD+2
    line(ident="10000000008", address="badrpps@a.mssante.fr"),   # line GOOD+3
    line(address="not-an-address"),                             # line GOOD+4
    line(kind="XYZ", address="kind@a.mssante.fr"),               # line GOOD+5
    line(address="elodie.lefevre@paris.mssante.fr", ident="10101234564"),  # line GOOD+6
)


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    return write_synthetic_extract(tmp_path / "extract.csv", GOOD, extra_lines=MALFORMED)


async def test_malformed_lines_are_reported_and_the_rest_imported(store, extract) -> None:
    report = await import_extract(store, extract)
    assert report.rows_read == GOOD + len(MALFORMED)
    assert report.created == GOOD + 1
    assert report.rejected == 4
    assert [(r.line, r.reason.split(" ")[0]) for r in report.rejects] == [
        (GOOD + 2, "wrong"), (GOOD + 3, "bad"), (GOOD + 4, "bad"), (GOOD + 5, "unknown"),
    ]
    assert "31" in report.rejects[0].reason
    assert "RPPS" in report.rejects[1].reason
    assert "address" in report.rejects[2].reason
    assert "XYZ" in report.rejects[3].reason


async def test_reimport_is_idempotent_and_removes_vanished_rows(store, extract, tmp_path) -> None:
    first = await import_extract(store, extract)
    second = await import_extract(store, extract)
    assert (second.created, second.updated, second.removed) == (0, 0, 0)
    assert second.unchanged == first.created
    lines = extract.read_text(encoding="utf-8").splitlines()
    gone = lines[1].split("|")[1]
    changed_fields = lines[2].split("|")
    changed_fields[28] = "99999"
    edited = tmp_path / "edited.csv"
    edited.write_text("\n".join([lines[0], "|".join(changed_fields), *lines[3:]]) + "\n",
                      encoding="utf-8")
    third = await import_extract(store, edited)
    assert (third.created, third.updated, third.removed) == (0, 1, 1)
    assert third.unchanged == first.created - 2
    assert await find_directory_entry(store, gone) is None
    moved = await find_directory_entry(store, changed_fields[1])
    assert moved is not None and moved.postcode == "99999"


async def test_repeated_address_keeps_its_first_line(store, tmp_path) -> None:
    path = write_synthetic_extract(tmp_path / "dup.csv", 0, extra_lines=(
        line(address="same@a.mssante.fr", last="First"),
        line(address="same@a.mssante.fr", last="Second"),
    ))
    report = await import_extract(store, path)
    assert (report.created, report.duplicates) == (1, 1)
    entry = await find_directory_entry(store, "same@a.mssante.fr")
    assert entry is not None and entry.last_name == "First"


async def test_wrong_header_is_refused(store, tmp_path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("a|b|c\n" + line() + "\n", encoding="utf-8")
    with pytest.raises(ExtractHeaderError):
        await import_extract(store, path)


async def test_search_by_each_criterion(store, extract) -> None:
    await import_extract(store, extract)
    everything = [line.split("|") for line in synthetic_lines(GOOD)]
    everything.append(MALFORMED[4].split("|"))

    by_name = await search_directory(store, DirectoryQuery(name="LEFEVRE eLo", limit=500))
    expected = {f[1] for f in everything if name_key(f"{f[9]} {f[10]}").startswith("lefevre elo")}
    assert {e.address for e in by_name} == expected
    assert "elodie.lefevre@paris.mssante.fr" in expected

    [by_rpps] = await search_directory(store, DirectoryQuery(rpps="10101234564"))
    assert by_rpps.address == "elodie.lefevre@paris.mssante.fr"
    assert by_rpps.display_name == "Élodie Lefèvre"

    pharmacists = await search_directory(store, DirectoryQuery(profession_code="21", limit=500))
    assert {e.address for e in pharmacists} == {f[1] for f in everything if f[13] == "21"}

    lyon = await search_directory(store, DirectoryQuery(postcode="69", limit=500))
    assert {e.address for e in lyon} == {f[1] for f in everything if f[28].startswith("69")}

    orgs = await search_directory(store, DirectoryQuery(kind="org", limit=500))
    assert {e.address for e in orgs} == {f[1] for f in everything if f[0] == "ORG"}

    limited = await search_directory(store, DirectoryQuery(kind="PER", limit=7))
    assert len(limited) == 7
    keys = [name_key(f"{e.last_name} {e.first_name}") for e in limited]
    assert keys == sorted(keys)


def test_bulk_address_checker_agrees_with_email_validator() -> None:
    checker = BulkAddressChecker()
    samples = [f.split("|")[1] for f in synthetic_lines(200)] + [
        "a..b@x.fr", ".a@x.fr", "a b@x.fr", "a@x..fr", "a@-x.fr", "A@X.FR", "a(b)@x.fr",
        "a@localhost", "é@x.fr", '"q"@x.fr', "a@b@x.fr", "@x.fr", "a@", "a@mss.localhost",
    ]

    def verdict(check, address: str) -> str:
        try:
            return check(address)
        except InvalidIdentifier:
            return "refused"

    for address in samples:
        assert verdict(checker.check, address) == verdict(check_address, address), address


async def test_a_windows_1252_extract_is_read_as_such(store, tmp_path) -> None:
    """The real extract may come in Windows-1252: names keep their accents, the report
    says which encoding and from which line the file is not UTF-8."""
    utf8 = write_synthetic_extract(tmp_path / "utf8.csv", 50, extra_lines=(
        line(address="lefevre@a.mssante.fr", last="Lefèvre", first="Œnone"),))
    legacy = tmp_path / "cp1252.csv"
    legacy.write_bytes(utf8.read_text(encoding="utf-8").encode("cp1252"))
    report = await import_extract(store, legacy)
    assert (report.encoding, report.rejected, report.created) == ("cp1252", 0, 51)
    first = next(n for n, text in enumerate(utf8.read_text(encoding="utf-8").splitlines(), 1)
                 if not text.isascii())
    assert report.first_non_utf8_line == first
    assert f"not UTF-8 from line {first}" in report.encoding_note()
    entry = await find_directory_entry(store, "lefevre@a.mssante.fr")
    assert entry is not None and (entry.last_name, entry.first_name) == ("Lefèvre", "Œnone")
    again = await import_extract(store, utf8)  # the same content in UTF-8: nothing changes
    assert (again.encoding, again.unchanged, again.updated) == ("utf-8", 51, 0)


async def test_refusals_are_summarised_by_kind_with_their_first_lines(store, tmp_path) -> None:
    bad = tuple(line(ident="10000000008", address=f"bad{n}@a.mssante.fr") for n in range(5))
    path = write_synthetic_extract(tmp_path / "bad.csv", 10, extra_lines=(
        *bad, "PER|short", line(address="not-an-address")))
    report = await import_extract(store, path)
    summary = report.refusal_summary()
    assert summary[0] == "first refused line 12: bad RPPS '10000000008'"
    assert summary[1] == "refused 5 line(s): bad RPPS (line 12, 13, 14, ...)"
    assert "refused 1 line(s): wrong column count (line 17)" in summary
    assert "refused 1 line(s): bad address (line 18)" in summary
    assert len(summary) == 4 and report.created == 10


async def test_an_interrupted_import_changes_nothing(store, tmp_path) -> None:
    """Stopped after batches were staged (the file is a pipe still being written): the
    directory keeps exactly what the previous import made, and the next import works."""
    import asyncio
    import os
    import threading

    from mss.directory.national_extract import HEADER
    from mss.directory.national_import import BATCH_SIZE

    before = await import_extract(store, write_synthetic_extract(tmp_path / "old.csv", 100))
    old_rows = {e.address: e.postcode for e in await search_directory(
        store, DirectoryQuery(limit=1000))}
    fresh = list(synthetic_lines(2 * BATCH_SIZE + 100, seed=99))
    fifo = tmp_path / "extract.fifo"
    os.mkfifo(fifo)
    written, release = threading.Event(), threading.Event()

    def writer() -> None:
        with fifo.open("w", encoding="utf-8") as out:
            out.write(HEADER + "\n")
            for text in fresh:
                out.write(text + "\n")
            out.flush()
            written.set()  # all but the pipe's buffer (64 KiB) has been read by now
            release.wait()

    thread = threading.Thread(target=writer)
    thread.start()
    task = asyncio.ensure_future(import_extract(store, fifo))
    await asyncio.to_thread(written.wait)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    thread.join()
    rows = {e.address: e.postcode for e in await search_directory(
        store, DirectoryQuery(limit=1000))}
    assert rows == old_rows and len(rows) == before.created
    after = await import_extract(store, write_synthetic_extract(tmp_path / "new.csv", 120))
    assert (after.created, after.removed) == (20, 0)
