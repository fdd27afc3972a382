"""The subject convention of professional software: `XDM/1.0/DDM+<label> <NAME> ...`.

Readers hide the prefix (docs/architecture.md §9, message conventions).
"""

from __future__ import annotations

import re

_XDM_PREFIX = re.compile(r"^\s*XDM/1\.0/DDM\+\s*", re.IGNORECASE)


def strip_xdm_prefix(subject: str) -> str:
    """Return the subject as a reader shows it: without the `XDM/1.0/DDM+` prefix."""
    return _XDM_PREFIX.sub("", subject, count=1)


def has_xdm_prefix(subject: str) -> bool:
    """True when the subject follows the XDM convention of professional software."""
    return _XDM_PREFIX.match(subject) is not None
