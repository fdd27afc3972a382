"""To whom MSS's automatic messages go: only the party the protocol names (DESIGN §4).

RFC 8098 §2.1: an MDN sent automatically must not go to a Disposition-Notification-To
address that differs from the Return-Path, else anyone who may write to a patient could
have her acknowledgement (her identity, her care) sent to a third party. MSS applies the
same rule to every automatic message (docs/sender-truth.md): DSNs go to the envelope
sender (RFC 3464), patient notices to the patient's own notice address, never to an
address written in a header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mss.policy.addresses import canonical_address


@dataclass(frozen=True, slots=True)
class AutomaticRecipients:
    """`send_to`: the requested addresses that are the Return-Path; `withheld`: the
    others, each to be audited with `WITHHELD_REASON`."""

    send_to: tuple[str, ...]
    withheld: tuple[str, ...]


WITHHELD_REASON = "rfc8098-2.1: Disposition-Notification-To is not the Return-Path"


def acknowledgement_recipients(requested: Sequence[str], return_path: str
                               ) -> AutomaticRecipients:
    """Split the Disposition-Notification-To addresses by RFC 8098 §2.1: only the
    message's own envelope sender (the authenticated principal's MAIL FROM on
    submission, the peer's checked MAIL FROM on the MX) gets the MDN; a null
    Return-Path gets none (a bounce asks for nothing)."""
    sender = canonical_address(return_path)
    send_to: list[str] = []
    withheld: list[str] = []
    for address in dict.fromkeys(canonical_address(a) for a in requested):
        if not address:
            continue
        (send_to if sender and address == sender else withheld).append(address)
    return AutomaticRecipients(tuple(send_to), tuple(withheld))
