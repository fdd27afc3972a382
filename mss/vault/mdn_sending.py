"""Sending processing acknowledgements (RFC 8098 MDNs) back through the pipeline.

Invariant: acknowledgements are sent after the commit of the deposit that produced
them, as new submissions through the one pipeline (docs/architecture.md §1), never inside it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from mss.identity import SYSTEM
from mss.policy import Channel

if TYPE_CHECKING:
    from mss.pipeline.accept import Pipeline

log = logging.getLogger(__name__)

AcknowledgementSender = Callable[[str, bytes], Awaitable[None]]
"""Send `raw` (an MDN) to one address; MAIL FROM is the null reverse-path (RFC 8098 §3)."""


_in_flight: set[asyncio.Task[None]] = set()


def acknowledgement_sender(pipeline: Pipeline) -> AcknowledgementSender:
    """Acknowledgements go out as new submissions through the one pipeline (docs/architecture.md
    §1)."""
    from mss.pipeline.accept import Submission  # the pipeline calls the vault, not back

    async def send(recipient: str, raw: bytes) -> None:
        # RFC 8098 §3: the envelope sender of an MDN is null; the system sends it, so
        # the patient rules P1/P2 do not apply (an MDN towards a patient's sender
        # cannot be refused, docs/architecture.md §9).
        result = await pipeline.accept(Submission(
            mail_from="", recipients=[recipient], raw=raw, channel=Channel.SUBMISSION,
            principal=SYSTEM, save_to_sent=False, via="mdn",
        ))
        for refused in result.refused:
            log.warning("processing acknowledgement to %s refused: %s %s", refused.address,
                        refused.verdict.code, refused.verdict.enhanced)

    return send


def spawn_acknowledgement(sender: AcknowledgementSender, recipient: str, raw: bytes) -> None:
    """Start sending now (called after commit); failures are logged, never raised."""

    async def run() -> None:
        try:
            await sender(recipient, raw)
        except Exception:
            log.exception("processing acknowledgement to %s failed", recipient)

    task = asyncio.get_running_loop().create_task(run(), name="mss-vault-mdn")
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


async def drain_acknowledgements() -> None:
    """Wait for acknowledgements being sent (tests, graceful stop)."""
    while _in_flight:
        await asyncio.gather(*list(_in_flight), return_exceptions=True)
