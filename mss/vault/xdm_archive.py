"""Opening an IHE_XDM.zip from bytes without trusting it (IHE ITI-32 media, docs/architecture.md
§6).

Refused as a whole: too many entries, an entry or a total too large once inflated, a
suspicious compression ratio, encrypted entries, methods other than stored/deflated,
symbolic links, and names that are absolute, use backslashes, control characters or
`..`, or that collide once case is ignored. Nothing inside is ever opened as a zip.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass

from mss.vault.errors import VaultExtractionError
from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits

XDM_ARCHIVE_NAME = "ihe_xdm.zip"
"""Attachment name of an XDM archive, compared case-insensitively (docs/architecture.md §9)."""

_READ_CHUNK = 64 * 1024
_ALLOWED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    KeyError,
    IndexError,
    OverflowError,
)


def is_xdm_archive_name(file_name: str) -> bool:
    return file_name.strip().casefold() == XDM_ARCHIVE_NAME


@dataclass(frozen=True, slots=True)
class XdmArchive:
    """The regular files of an archive, by their name inside it (forward slashes)."""

    files: dict[str, bytes]

    def find(self, path: str) -> bytes | None:
        """The file at `path`, ignoring case (8.3 upper-case names are not always kept)."""
        wanted = path.casefold()
        for name, data in self.files.items():
            if name.casefold() == wanted:
                return data
        return None

    def metadata_paths(self) -> list[str]:
        """`IHE_XDM/<subset>/METADATA.XML` of every subset, in name order (ITI-32 §3.32.4.1)."""
        found = []
        for name in self.files:
            parts = name.casefold().split("/")
            if len(parts) == 3 and parts[0] == "ihe_xdm" and parts[2] == "metadata.xml":
                found.append(name)
        return sorted(found)


def check_entry_name(name: str) -> None:
    """Refuse names that could escape a folder or confuse a reader."""
    if not name or len(name) > 1024:
        raise VaultExtractionError("archive entry with an empty or overlong name")
    if "\\" in name or _CONTROL.search(name):
        raise VaultExtractionError("archive entry name with a backslash or control character")
    if name.startswith("/") or _DRIVE.match(name):
        raise VaultExtractionError("archive entry with an absolute name")
    segments = name.rstrip("/").split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise VaultExtractionError("archive entry name escapes with '..' or empty segments")


def check_entry_header(info: zipfile.ZipInfo, limits: ExtractionLimits) -> None:
    if info.flag_bits & 0x1:
        raise VaultExtractionError("encrypted archive entry")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise VaultExtractionError("symbolic link in archive")
    if info.compress_type not in _ALLOWED_METHODS:
        raise VaultExtractionError("archive entry compression method not allowed")
    if info.file_size > limits.max_entry_bytes:
        raise VaultExtractionError("archive entry too large once inflated")
    check_ratio(info.file_size, info.compress_size, limits)


def check_ratio(inflated: int, compressed: int, limits: ExtractionLimits) -> None:
    if inflated > limits.ratio_floor_bytes and inflated > limits.max_ratio * max(compressed, 1):
        raise VaultExtractionError("archive entry compression ratio too high (zip bomb?)")


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ExtractionLimits,
               budget: int) -> bytes:
    """Inflate one entry by chunks, stopping as soon as a bound is crossed."""
    bound = min(limits.max_entry_bytes, budget)
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_READ_CHUNK):
            size += len(chunk)
            if size > bound:
                raise VaultExtractionError("archive too large once inflated")
            check_ratio(size, info.compress_size, limits)
            chunks.append(chunk)
    return b"".join(chunks)


def read_xdm_archive(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> XdmArchive:
    """Read every regular file of the archive in memory, or raise VaultExtractionError."""
    if len(data) > limits.max_archive_bytes:
        raise VaultExtractionError("archive larger than allowed")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _read_checked(archive, limits)
    except VaultExtractionError:
        raise
    except _ZIP_ERRORS as exc:
        raise VaultExtractionError(f"unreadable archive ({type(exc).__name__})") from exc


def _read_checked(archive: zipfile.ZipFile, limits: ExtractionLimits) -> XdmArchive:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise VaultExtractionError("archive has too many entries")
    seen: set[str] = set()
    for info in infos:
        check_entry_name(info.orig_filename)
        check_entry_header(info, limits)
        folded = info.filename.rstrip("/").casefold()
        if folded in seen:
            raise VaultExtractionError("archive has duplicate entry names")
        seen.add(folded)
    if sum(info.file_size for info in infos) > limits.max_total_bytes:
        raise VaultExtractionError("archive too large once inflated")
    files: dict[str, bytes] = {}
    remaining = limits.max_total_bytes
    for info in infos:
        if info.is_dir():
            continue
        content = read_entry(archive, info, limits, remaining)
        remaining -= len(content)
        files[info.filename] = content
    return XdmArchive(files)
