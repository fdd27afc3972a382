"""Delivery status notifications sent back through the one pipeline (docs/architecture.md §1).

A DSN is an ordinary message from the null reverse path `<>` (RFC 5321 §4.5.5), sent by
MSS itself (the SYSTEM principal, submission channel: policy T2 lets only the system
send from `<>`): to a local sender it lands in their INBOX, to a remote one it is queued
and relayed like any message. Never a DSN about a message from `<>` (RFC 3461 §6.2).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from mss.config import Settings
from mss.identity import SYSTEM
from mss.pipeline.accept import AcceptResult, Pipeline, Submission
from mss.policy import Channel
from mss.smtp.dsn import RecipientStatus, build_dsn, is_null_reverse_path
from mss.smtp.dsn_parameters import Ret

log = logging.getLogger(__name__)


async def send_dsn(
    pipeline: Pipeline,
    settings: Settings,
    *,
    original: bytes,
    envelope_from: str,
    recipients: Sequence[RecipientStatus],
    now: datetime,
    envid: str | None = None,
    ret: str | None = None,
    arrival_date: datetime | None = None,
) -> AcceptResult | None:
    """Build the DSN and hand it to the pipeline; None when none is due."""
    if is_null_reverse_path(envelope_from) or not recipients:
        return None
    sender = envelope_from.strip().strip("<>")
    raw = build_dsn(
        original=original, envelope_from=sender, reporting_mta=settings.server.hostname,
        recipients=recipients, now=now, envid=envid,
        ret=Ret(ret) if ret in ("FULL", "HDRS") else None, arrival_date=arrival_date,
    )
    result = await pipeline.accept(Submission(
        mail_from="", recipients=[sender], raw=raw, channel=Channel.SUBMISSION,
        principal=SYSTEM, save_to_sent=False, via="dsn",
    ))
    if not result.accepted:
        refused = result.refused[0].verdict if result.refused else None
        log.warning("DSN to %s refused: %s", sender, refused.rule if refused else "?")
    return result
