"""Mail the system itself sends through the one pipeline (docs/architecture.md §1):
processing acknowledgements (RFC 8098 MDNs) and notices to professionals.

The vault is given these senders (a callback, `AcknowledgementSender`) instead of
calling the pipeline: the pipeline calls the vault, never the other way round.
"""

from __future__ import annotations

import logging

from mss.identity import SYSTEM
from mss.pipeline.accept import Pipeline, Submission
from mss.policy import Channel
from mss.vault.deposit import VaultDeposit
from mss.vault.mdn_sending import AcknowledgementSender

log = logging.getLogger(__name__)


def system_sender(pipeline: Pipeline) -> AcknowledgementSender:
    """Send `raw` to one recipient as a new submission by the system, with the null
    reverse-path (RFC 8098 §3)."""

    async def send(recipient: str, raw: bytes) -> None:
        # the system sends it, so the patient rules P1/P2 do not apply (an MDN towards
        # a patient's sender cannot be refused, docs/architecture.md §9)
        result = await pipeline.accept(Submission(
            mail_from="", recipients=[recipient], raw=raw, channel=Channel.SUBMISSION,
            principal=SYSTEM, save_to_sent=False, via="mdn",
        ))
        for refused in result.refused:
            log.warning("processing acknowledgement to %s refused: %s %s", refused.address,
                        refused.verdict.code, refused.verdict.enhanced)

    return send


def attach_vault(pipeline: Pipeline) -> VaultDeposit:
    """Give the pipeline its vault step, with acknowledgements sent back through it."""
    vault = VaultDeposit(pipeline.store, system_sender(pipeline))
    pipeline.vault = vault
    return vault
