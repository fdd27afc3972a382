"""Bounds applied to every attachment and archive (docs/architecture.md §6: entry count, size,
ratio).

Defaults fit the 25 MB limit of patient messages (docs/architecture.md §9) with room for
compression; callers and tests pass tighter values.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    max_attachments: int = 64
    """MIME leaf parts looked at in one message."""
    max_mime_depth: int = 16
    """Nesting of multipart containers walked."""
    max_archive_bytes: int = 30 * MIB
    """Compressed size of one IHE_XDM.zip."""
    max_entries: int = 256
    """Entries in one archive (files and directories)."""
    max_entry_bytes: int = 40 * MIB
    """Uncompressed size of one entry."""
    max_total_bytes: int = 100 * MIB
    """Uncompressed size of all entries of one archive."""
    max_ratio: int = 100
    """Uncompressed / compressed size of one entry, checked above `ratio_floor_bytes`."""
    ratio_floor_bytes: int = 64 * 1024
    """Entries smaller than this are too small to be a bomb, whatever their ratio."""
    max_metadata_bytes: int = 4 * MIB
    """Size of METADATA.XML and of a CDA header read for classification."""
    max_documents: int = 128
    """Documents described by one archive's metadata."""


DEFAULT_LIMITS = ExtractionLimits()
