"""Sending processing acknowledgements (RFC 8098 MDNs) back through the pipeline.

Invariant: acknowledgements are sent after the commit of the deposit that produced
them, as new submissions through the one pipeline (docs/architecture.md §1), never
inside it. The vault does not call the pipeline: it is given an `AcknowledgementSender`
(mss.pipeline.system_mail.system_sender, at the composition root).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

AcknowledgementSender = Callable[[str, bytes], Awaitable[None]]
"""Send `raw` (an MDN) to one address; MAIL FROM is the null reverse-path (RFC 8098 §3)."""


_in_flight: set[asyncio.Task[None]] = set()


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
