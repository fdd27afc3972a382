"""Which attachments are forbidden (MSS policy S2): executables, scripts, archives other
than an IHE XDM zip.

An attachment is judged on three signals: its file name extension, its declared content
type and, when given, its leading bytes. Any signal that says forbidden refuses it, so a
renamed executable or a mislabelled script is caught. The one zip allowed is the one
named `IHE_XDM.zip` (docs/architecture.md §9, message conventions; name compared ignoring case).
MSS choice: office documents that are zip containers (docx, xlsx, pptx, odt, ods, odp)
are documents, not archives; their macro-enabled variants count as scripts.
"""

from __future__ import annotations

import enum

from mss.policy.facts import Attachment

XDM_FILENAME = "ihe_xdm.zip"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class ForbiddenKind(enum.StrEnum):
    EXECUTABLE = "executable"
    SCRIPT = "script"
    ARCHIVE = "archive"
    ZIP = "zip"  # forbidden unless it is the IHE XDM archive


_EXTENSIONS: dict[ForbiddenKind, frozenset[str]] = {
    ForbiddenKind.EXECUTABLE: _words(
        "exe com scr msi msp msix appx dll cpl pif sys drv ocx lnk scf gadget jar apk app "
        "dmg pkg deb rpm bin elf so dylib iso vhd vhdx xll class"
    ),
    ForbiddenKind.SCRIPT: _words(
        "bat cmd vbs vbe js jse mjs wsf wsh ws hta ps1 psm1 psd1 reg inf sh bash zsh csh ksh "
        "command py pyw pl rb php asp aspx jsp lua tcl docm dotm xlsm xltm xlam pptm potm "
        "ppam sldm"
    ),
    ForbiddenKind.ARCHIVE: _words(
        "7z rar tar gz tgz bz2 tbz2 xz txz zst lz lzma lzh arj cab ace z cpio"
    ),
    ForbiddenKind.ZIP: frozenset({"zip"}),
}

_CONTENT_TYPES: dict[ForbiddenKind, frozenset[str]] = {
    ForbiddenKind.EXECUTABLE: frozenset(
        {
            "application/x-msdownload",
            "application/x-msdos-program",
            "application/x-dosexec",
            "application/vnd.microsoft.portable-executable",
            "application/x-executable",
            "application/x-elf",
            "application/x-sharedlib",
            "application/x-mach-binary",
            "application/x-msi",
            "application/x-ms-installer",
            "application/java-archive",
            "application/x-java-archive",
            "application/vnd.android.package-archive",
            "application/x-apple-diskimage",
            "application/x-iso9660-image",
        }
    ),
    ForbiddenKind.SCRIPT: frozenset(
        {
            "application/x-sh",
            "application/x-shellscript",
            "text/x-shellscript",
            "text/x-sh",
            "application/javascript",
            "application/x-javascript",
            "text/javascript",
            "application/ecmascript",
            "text/ecmascript",
            "application/x-python",
            "text/x-python",
            "application/x-perl",
            "text/x-perl",
            "application/x-php",
            "text/x-php",
            "application/x-bat",
            "application/bat",
            "application/x-msdos-batch",
            "application/hta",
            "application/vbscript",
            "text/vbscript",
            "application/x-powershell",
            "application/vnd.ms-word.document.macroenabled.12",
            "application/vnd.ms-excel.sheet.macroenabled.12",
            "application/vnd.ms-powerpoint.presentation.macroenabled.12",
        }
    ),
    ForbiddenKind.ARCHIVE: frozenset(
        {
            "application/x-7z-compressed",
            "application/x-rar-compressed",
            "application/vnd.rar",
            "application/x-rar",
            "application/x-tar",
            "application/gzip",
            "application/x-gzip",
            "application/x-bzip2",
            "application/x-xz",
            "application/zstd",
            "application/x-lzip",
            "application/vnd.ms-cab-compressed",
            "application/x-cpio",
            "application/x-compress",
        }
    ),
    ForbiddenKind.ZIP: frozenset(
        {"application/zip", "application/x-zip-compressed", "application/x-zip"}
    ),
}

_MAGIC: tuple[tuple[bytes, ForbiddenKind], ...] = (
    (b"MZ", ForbiddenKind.EXECUTABLE),  # DOS/PE
    (b"\x7fELF", ForbiddenKind.EXECUTABLE),
    (b"\xfe\xed\xfa\xce", ForbiddenKind.EXECUTABLE),  # Mach-O 32
    (b"\xfe\xed\xfa\xcf", ForbiddenKind.EXECUTABLE),  # Mach-O 64
    (b"\xce\xfa\xed\xfe", ForbiddenKind.EXECUTABLE),
    (b"\xcf\xfa\xed\xfe", ForbiddenKind.EXECUTABLE),
    (b"\xca\xfe\xba\xbe", ForbiddenKind.EXECUTABLE),  # Mach-O fat / Java class
    (b"#!", ForbiddenKind.SCRIPT),
    (b"PK\x03\x04", ForbiddenKind.ZIP),
    (b"PK\x05\x06", ForbiddenKind.ZIP),  # empty zip
    (b"PK\x07\x08", ForbiddenKind.ZIP),  # spanned zip
    (b"7z\xbc\xaf\x27\x1c", ForbiddenKind.ARCHIVE),
    (b"Rar!\x1a\x07", ForbiddenKind.ARCHIVE),
    (b"\x1f\x8b", ForbiddenKind.ARCHIVE),  # gzip
    (b"BZh", ForbiddenKind.ARCHIVE),
    (b"\xfd7zXZ\x00", ForbiddenKind.ARCHIVE),
    (b"\x28\xb5\x2f\xfd", ForbiddenKind.ARCHIVE),  # zstd
    (b"MSCF", ForbiddenKind.ARCHIVE),  # cabinet
)

_TAR_MAGIC_OFFSET = 257
_OFFICE_ZIP_EXTENSIONS = _words("docx xlsx pptx odt ods odp odg")


def file_extension(filename: str | None) -> str:
    """Last extension, lower case; trailing dots and spaces dropped as Windows does."""
    if not filename:
        return ""
    name = filename.strip().rstrip(". ").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _by_extension(extension: str) -> ForbiddenKind | None:
    return next((kind for kind, names in _EXTENSIONS.items() if extension in names), None)


def _by_content_type(content_type: str) -> ForbiddenKind | None:
    bare = content_type.split(";", 1)[0].strip().lower()
    return next((kind for kind, types in _CONTENT_TYPES.items() if bare in types), None)


def _by_magic(leading: bytes | None) -> ForbiddenKind | None:
    if not leading:
        return None
    for magic, kind in _MAGIC:
        if leading.startswith(magic):
            return kind
    if leading[_TAR_MAGIC_OFFSET : _TAR_MAGIC_OFFSET + 5] == b"ustar":
        return ForbiddenKind.ARCHIVE
    return None


def is_xdm_archive_name(filename: str | None) -> bool:
    if not filename:
        return False
    return filename.strip().rsplit("/", 1)[-1].lower() == XDM_FILENAME


def forbidden_kind(attachment: Attachment) -> ForbiddenKind | None:
    """The reason an attachment is forbidden, or None when it may travel (MSS policy S2)."""
    extension = file_extension(attachment.filename)
    signals = [
        _by_extension(extension),
        _by_content_type(attachment.content_type),
        _by_magic(attachment.leading_bytes),
    ]
    zip_allowed = is_xdm_archive_name(attachment.filename)
    office_zip = extension in _OFFICE_ZIP_EXTENSIONS
    for signal in signals:
        if signal is None:
            continue
        if signal is ForbiddenKind.ZIP and (zip_allowed or office_zip):
            continue
        return signal
    return None
