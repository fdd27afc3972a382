"""How the vault's pipeline hook finds its store and the way to send acknowledgements.

The hook has the pipeline's fixed signature (`VaultHook`: unit of work, message, patient
mailbox, sender, message reference), which names no store; yet the vault must seal
document blobs with the store's keys and send processing acknowledgements (RFC 8098
MDNs) back through the pipeline. `bind_pipeline(pipeline)` records both, keyed by the
store's write engine, so that several stores in one process (two nodes in a test, the
bench) never mix their blobs.

Invariant: acknowledgements are sent after the commit of the deposit that produced
them, as new submissions through the one pipeline (DESIGN §1), never inside it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from mss.identity import SYSTEM
from mss.policy import Channel
from mss.store.store import Store

if TYPE_CHECKING:
    from mss.pipeline.accept import Pipeline

log = logging.getLogger(__name__)

AcknowledgementSender = Callable[[str, bytes], Awaitable[None]]
"""Send `raw` (an MDN) to one address; MAIL FROM is the null reverse-path (RFC 8098 §3)."""


@dataclass(frozen=True, slots=True)
class VaultBinding:
    store: Store
    send_acknowledgement: AcknowledgementSender | None = None


_bindings: WeakKeyDictionary[Engine, VaultBinding] = WeakKeyDictionary()
_in_flight: set[asyncio.Task[None]] = set()


def bind_store(store: Store, sender: AcknowledgementSender | None = None) -> None:
    """Let deposits on `store` seal blobs with its keys and send acknowledgements."""
    _bindings[store.write_engine.sync_engine] = VaultBinding(store, sender)


def set_acknowledgement_sender(store: Store, sender: AcknowledgementSender | None) -> None:
    bind_store(store, sender)


def bind_pipeline(pipeline: Pipeline) -> None:
    """The one call `mss.app` makes: deposits on the pipeline's store, MDNs through it."""
    from mss.pipeline.accept import Submission  # the pipeline calls the vault, not back

    async def send(recipient: str, raw: bytes) -> None:
        # RFC 8098 §3: the envelope sender of an MDN is null; the system sends it, so
        # the patient rules P1/P2 do not apply (an MDN towards a patient's sender
        # cannot be refused, mssante-facts).
        result = await pipeline.accept(Submission(
            mail_from="", recipients=[recipient], raw=raw, channel=Channel.SUBMISSION,
            principal=SYSTEM, save_to_sent=False, via="mdn",
        ))
        for refused in result.refused:
            log.warning("processing acknowledgement to %s refused: %s %s", refused.address,
                        refused.verdict.code, refused.verdict.enhanced)

    bind_store(pipeline.store, send)


def binding_for(session: AsyncSession) -> VaultBinding | None:
    """The binding of the store whose transaction `session` belongs to."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _bindings.get(engine)


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
