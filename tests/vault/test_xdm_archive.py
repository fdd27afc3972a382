"""Opening IHE_XDM.zip safely: every refusal of mss.vault.xdm_archive, and a good read."""

from __future__ import annotations

import io
import zipfile

import pytest

from mss.vault.errors import VaultExtractionError
from mss.vault.limits import ExtractionLimits
from mss.vault.xdm_archive import is_xdm_archive_name, read_xdm_archive

from . import corpus


def test_valid_archive_gives_its_files_with_the_iti32_layout() -> None:
    archive = read_xdm_archive(corpus.valid_xdm())
    assert archive.metadata_paths() == ["IHE_XDM/SUBSET01/METADATA.XML"]
    assert archive.find("ihe_xdm/subset01/doc0001.xml") == archive.files[
        "IHE_XDM/SUBSET01/DOC0001.XML"
    ]
    assert set(archive.files) >= {"README.TXT", "INDEX.HTM"}


@pytest.mark.parametrize("name", ["IHE_XDM.zip", "ihe_xdm.ZIP", " IHE_XDM.ZIP "])
def test_archive_name_is_recognised_in_any_case(name: str) -> None:
    assert is_xdm_archive_name(name)


def test_other_zip_names_are_not_xdm() -> None:
    assert not is_xdm_archive_name("documents.zip")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../etc/passwd", "'..'"),
        ("IHE_XDM/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows/x", "absolute"),
        ("IHE_XDM\\SUBSET01\\x", "backslash"),
        ("IHE_XDM//x", "empty segments"),
    ],
)
def test_hostile_entry_names_refuse_the_archive(name: str, reason: str) -> None:
    data = corpus.zip_bytes({"README.TXT": b"x", name: b"y"})
    with pytest.raises(VaultExtractionError, match=reason):
        read_xdm_archive(data)


def test_corpus_path_escape_archive_is_refused() -> None:
    with pytest.raises(VaultExtractionError, match=r"\.\."):
        read_xdm_archive(corpus.xdm_with_path_escape())


def test_symbolic_link_is_refused() -> None:
    with pytest.raises(VaultExtractionError, match="symbolic link"):
        read_xdm_archive(corpus.xdm_with_symlink())


def test_zip_bomb_is_refused_by_ratio_before_inflating() -> None:
    bomb = corpus.zip_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(VaultExtractionError, match="ratio"):
        read_xdm_archive(bomb)


def test_entry_larger_than_the_limit_is_refused() -> None:
    data = corpus.zip_bytes({"A.BIN": bytes(range(256)) * 40})
    with pytest.raises(VaultExtractionError, match="too large"):
        read_xdm_archive(data, ExtractionLimits(max_entry_bytes=4096))


def test_total_inflated_size_is_bounded() -> None:
    files = {f"F{i}.BIN": bytes(range(256)) * 8 for i in range(4)}
    with pytest.raises(VaultExtractionError, match="too large"):
        read_xdm_archive(corpus.zip_bytes(files), ExtractionLimits(max_total_bytes=6000))


def test_lying_declared_size_cannot_inflate_past_the_bound() -> None:
    """A central directory that understates the size: zipfile stops at the declared size
    and the CRC check fails, which is still our error type."""
    content = bytes(range(256)) * 64
    data = bytearray(corpus.zip_bytes({"A.BIN": content}))
    real = len(content).to_bytes(4, "little")
    fake = (100).to_bytes(4, "little")
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = fake
    assert data[central + 24 : central + 28] != real
    with pytest.raises(VaultExtractionError):
        read_xdm_archive(bytes(data))


def test_too_many_entries_is_refused() -> None:
    files = {f"F{i}.TXT": b"x" for i in range(10)}
    with pytest.raises(VaultExtractionError, match="too many entries"):
        read_xdm_archive(corpus.zip_bytes(files), ExtractionLimits(max_entries=5))


def test_names_colliding_without_case_are_refused() -> None:
    data = corpus.zip_bytes({"DOC.XML": b"a", "doc.xml": b"b"})
    with pytest.raises(VaultExtractionError, match="duplicate"):
        read_xdm_archive(data)


def test_encrypted_entry_is_refused() -> None:
    data = bytearray(corpus.zip_bytes({"A.TXT": b"secret"}))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        data[at + flag_offset] |= 0x1
    with pytest.raises(VaultExtractionError, match="encrypted"):
        read_xdm_archive(bytes(data))


def test_other_compression_methods_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_LZMA) as archive:
        archive.writestr("A.TXT", b"x" * 100)
    with pytest.raises(VaultExtractionError, match="method"):
        read_xdm_archive(buffer.getvalue())


def test_nested_zip_stays_bytes_and_is_never_opened() -> None:
    archive = read_xdm_archive(corpus.xdm_with_nested_zip())
    inner = archive.find("IHE_XDM/SUBSET01/DOC0003.ZIP")
    assert inner is not None and inner.startswith(b"PK\x03\x04")
    assert all(not name.upper().endswith("METADATA.XML") or name.count("/") == 2
               for name in archive.files)


def test_not_a_zip_is_our_error() -> None:
    with pytest.raises(VaultExtractionError, match="unreadable"):
        read_xdm_archive(b"%PDF-1.4 not a zip")


def test_archive_larger_than_allowed_is_refused_unread() -> None:
    with pytest.raises(VaultExtractionError, match="larger"):
        read_xdm_archive(corpus.valid_xdm(), ExtractionLimits(max_archive_bytes=100))
