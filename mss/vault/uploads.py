"""What a patient may upload into Espace personnel: PDF, JPEG or PNG, at most 20 MB,
recognised by their leading bytes, never by the name or declared type (MSS choice)."""

from __future__ import annotations

from dataclasses import dataclass

from mss.vault.attachments import clean_file_name, sniff_content_type

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_TYPES: dict[str, str] = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    file_name: str
    content_type: str


class UploadRefused(Exception):
    """The file is not accepted; `reason` is shown to the patient."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_upload(file_name: str, content: bytes, limit: int = MAX_UPLOAD_BYTES) -> CheckedUpload:
    if not content:
        raise UploadRefused("le fichier est vide / the file is empty")
    if len(content) > limit:
        raise UploadRefused(f"fichier trop volumineux (max {limit // (1024 * 1024)} Mo) / "
                            f"file too large (max {limit // (1024 * 1024)} MB)")
    content_type = sniff_content_type(content)
    if content_type not in UPLOAD_TYPES:
        raise UploadRefused("seuls les PDF, JPEG et PNG sont acceptés / "
                            "only PDF, JPEG and PNG files are accepted")
    name = clean_file_name(file_name) or f"document.{UPLOAD_TYPES[content_type]}"
    return CheckedUpload(name, content_type)
