"""End of DATA, shared by the MX and submission: the message into the pipeline, one reply.

Invariants:
- bare LF / bare CR anywhere in the data is refused before anything is stored (SMTP
  smuggling, see mss.smtp.line_endings);
- `250` only after `pipeline.accept` returned, i.e. after the commit (docs/architecture.md §1);
- SMTP has one reply for the whole DATA (RFC 5321 §4.2.5 for SMTP; LMTP alone has one per
  recipient). Recipients were decided at RCPT; when the content rules (S1-S3) refuse some
  of them at DATA:
  - none accepted: the first refusal's reply (5yz) for the whole message;
  - some accepted: `250`, and a DSN naming the refused recipients goes to the sender
    through the pipeline, as Postfix's cleanup does (RFC 3464 Action: failed);
- replies carry the policy's sentence only: never a traceback, SQL or internal name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mss.config import Settings
from mss.identity import Principal
from mss.pipeline.accept import AcceptResult, Pipeline, RecipientDsn, Submission
from mss.policy import Channel, PeerCertificate
from mss.smtp.bounces import send_dsn
from mss.smtp.dsn import RecipientStatus
from mss.smtp.line_endings import refuse_bare_line_endings
from mss.smtp.protocol import MssEnvelope
from mss.smtp.replies import QUEUED_AS, SmtpReply
from mss.store.store import Store

log = logging.getLogger(__name__)

Wakeup = Callable[[], None]


def null_path(address: str | None) -> str:
    """aiosmtpd gives `<>` for the null reverse path; the pipeline wants ``""``."""
    return "" if not address or address.strip() == "<>" else address


@dataclass
class DataIntake:
    store: Store
    settings: Settings
    pipeline: Pipeline
    wakeup: Wakeup

    def check_line_endings(self, envelope: MssEnvelope) -> None:
        """RFC 5321 §2.3.8, §4.1.1.4: raise `SmtpReply` 550 5.5.2 on bare LF or CR."""
        refuse_bare_line_endings(envelope.original_content or b"")

    async def accept(
        self, envelope: MssEnvelope, raw: bytes, *, channel: Channel, principal: Principal,
        peer: PeerCertificate | None, save_to_sent: bool, queue_id: str,
    ) -> str:
        """Run the pipeline; return the one DATA reply (see the module invariants)."""
        mail_from = null_path(envelope.mail_from)
        recipient_dsn = {
            address.lower(): RecipientDsn(
                notify=_notify_text(params.notify),
                orcpt=params.orcpt.to_parameter().partition("=")[2] if params.orcpt else None,
            )
            for address, params in envelope.rcpt_dsn.items()
        }
        result = await self.pipeline.accept(Submission(
            mail_from=mail_from, recipients=list(envelope.rcpt_tos), raw=raw,
            channel=channel, principal=principal, peer=peer, save_to_sent=save_to_sent,
            envid=envelope.mail_dsn.envid,
            ret=envelope.mail_dsn.ret.value if envelope.mail_dsn.ret else None,
            recipient_dsn=recipient_dsn, via="smtp",
            # the submission listener decided T2 at MAIL FROM (no DATA otherwise)
            sender_checked=channel is Channel.SUBMISSION,
            known_correspondents=envelope.known_correspondents,
            known_rights=envelope.known_rights, queue_id=queue_id,
        ))
        if any(r.queued for r in result.results):
            self.wakeup()
        if not result.accepted:
            return _first_refusal(result)
        if result.refused:
            await self._report_refused(result, raw, mail_from, envelope)
        # a retry of a message already accepted: the queue id it was accepted under
        return SmtpReply.parse(QUEUED_AS, queue_id=result.queue_id or queue_id).render()

    async def _report_refused(
        self, result: AcceptResult, raw: bytes, mail_from: str, envelope: MssEnvelope
    ) -> None:
        now = self.store.clock.now()
        statuses = [
            RecipientStatus(
                final_recipient=r.address, action="failed", status=r.verdict.enhanced.value,
                diagnostic=f"smtp; {r.verdict.smtp_reply()}", last_attempt=now,
            )
            for r in result.refused
        ]
        try:
            await send_dsn(
                self.pipeline, self.settings, original=raw, envelope_from=mail_from,
                recipients=statuses, now=now, envid=envelope.mail_dsn.envid,
                ret=envelope.mail_dsn.ret.value if envelope.mail_dsn.ret else None,
                arrival_date=now,
            )
        except Exception:  # the message itself is committed: never fail its 250
            log.exception("could not send the DSN for refused recipients")


def _first_refusal(result: AcceptResult) -> str:
    refused = result.refused
    if not refused:
        return SmtpReply(554, "5.0.0", "Transaction failed").render()
    return refused[0].verdict.smtp_reply()


def _notify_text(notify: Sequence[str] | frozenset[str] | None) -> str | None:
    """RFC 3461 §4.1 NOTIFY as stored in the queue: `NEVER` or `SUCCESS,FAILURE,DELAY`."""
    if notify is None:
        return None
    order = ("SUCCESS", "FAILURE", "DELAY")
    chosen = [word for word in order if word in {str(item) for item in notify}]
    return ",".join(chosen) if chosen else "NEVER"
