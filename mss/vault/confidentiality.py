"""Facts about confidentiality that the policy needs before delivery (docs/architecture.md §4 rule
S3).

A document marked `INVISIBLE_PATIENT` must never reach a patient mailbox (docs/architecture.md §9).
"""

from __future__ import annotations

from email.message import Message

from mss.vault.attachments import collect_attachments
from mss.vault.confidentiality_codes import INVISIBLE_PATIENT, has_code
from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits
from mss.vault.xdm_archive import is_xdm_archive_name, read_xdm_archive
from mss.vault.xdm_metadata import parse_xdm_metadata


def has_invisible_patient(message: Message, limits: ExtractionLimits = DEFAULT_LIMITS) -> bool:
    """True when any XDM metadata of the message gives a document INVISIBLE_PATIENT.

    Fails closed: an IHE_XDM.zip that cannot be read safely raises VaultExtractionError,
    since its absence of the code cannot be proven; the facts gatherer should refuse the
    message (rule S2) rather than deliver an archive it could not inspect.
    """
    for attachment in collect_attachments(message, limits).attachments:
        if not is_xdm_archive_name(attachment.file_name):
            continue
        archive = read_xdm_archive(attachment.content, limits)
        for path in archive.metadata_paths():
            for entry in parse_xdm_metadata(archive.files[path], limits):
                if has_code(entry.confidentiality_codes, INVISIBLE_PATIENT):
                    return True
    return False
