"""Hooks both listeners share: EHLO keywords, recipient count, the one error boundary.

docs/architecture.md §8.3: `SmtpReply` raised anywhere below a hook is rendered once here; any other
exception is logged with its traceback and answered `451 4.3.0` without detail, so no
internal data (traceback, SQL, path) ever reaches the client; a full disk is answered
`452 4.3.1` (RFC 3463 X.3.1) and a lost database `451 4.3.0`, both temporary, so that
the client keeps the message and retries (mss.store.faults tells them apart).
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from aiosmtpd.smtp import TLSSetupException

from mss.certs import ChainProblem, check_from_ssl_error
from mss.certs.live_trust import LiveTrust
from mss.event_log import SESSION_ID, begin_session, event
from mss.identity import Principal
from mss.policy import Channel
from mss.smtp.data_intake import DataIntake, null_path
from mss.smtp.options import SmtpOptions
from mss.smtp.protocol import MssSession
from mss.smtp.replies import (
    CERTIFICATE_REVOKED,
    CERTIFICATE_UNKNOWN_CA,
    CERTIFICATE_UNVERIFIED,
    DISK_FULL,
    RECIPIENT_OK,
    TEMP_FAIL,
    TOO_MANY_RECIPIENTS,
    SmtpReply,
)
from mss.smtp.tls_peer import tls_details
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.faults import StorageFault, storage_fault
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

PIPELINING = "PIPELINING"  # RFC 2920
ENHANCEDSTATUSCODES = "ENHANCEDSTATUSCODES"  # RFC 2034
DSN = "DSN"  # RFC 3461
EXTERNAL = "EXTERNAL"  # RFC 4422 appendix A: the TLS client certificate


class CommonHooks:
    """Base of the MX and submission handlers (policy itself is in the subclasses)."""

    offer_dsn = False
    offer_auth = False
    listener = "smtp"
    channel = Channel.SUBMISSION

    def __init__(self, intake: DataIntake, options: SmtpOptions,
                 live_trust: LiveTrust | None = None) -> None:
        self.live_trust = live_trust  # None: the handshake's checks only (unit tests)
        self.intake = intake
        self.options = options
        self.store = intake.store
        self.pipeline = intake.pipeline
        self.settings = intake.settings

    async def handle_EHLO(
        self, server: Any, session: MssSession, envelope: Any, hostname: str,
        responses: list[str],
    ) -> list[str]:
        """RFC 5321 §4.1.1.1 plus the keywords aiosmtpd leaves to the handler.

        EXTERNAL is offered only to a client that presented a certificate (as Dovecot
        and Postfix do): clients pick it whenever it is listed, and fail without one."""
        session.host_name = hostname
        tls = tls_details(server.transport)
        with_certificate = tls is not None and tls.peer_der is not None
        kept = []
        for line in responses[:-1]:
            if line[4:].upper().startswith("AUTH"):
                if not self.offer_auth:
                    continue
                if not with_certificate:
                    line = " ".join(word for word in line.split(" ")
                                    if word.upper() != EXTERNAL)
            kept.append(line)
        extra = [PIPELINING, ENHANCEDSTATUSCODES] + ([DSN] if self.offer_dsn else [])
        return kept + [f"250-{keyword}" for keyword in extra] + [responses[-1]]

    async def trust_gate(self, server: Any) -> str | None:
        """Before each command: a client certificate revoked since the handshake, or
        whose revocation is unknown (`trust.stale_crl = refuse`), ends the session with
        a temporary reply (the peer queues, it does not bounce)."""
        if self.live_trust is None:
            return None
        tls = tls_details(server.transport)
        if tls is None or tls.peer_der is None:
            return None
        check = self.live_trust.check(tls.peer_der, self.listener)
        if check.ok:
            return None
        session: MssSession = server.session
        identity = tls.peer_identity
        subject = identity.subject_dn if identity is not None else "?"
        event(AuditAction.CERT_REFUSED, listener=self.listener, client=session.client_ip,
              reason=check.reason, subject=subject, detail=check.detail)
        await self.audit(AuditAction.CERT_REFUSED, subject,
                         f"listener={self.listener} client={session.client_ip} "
                         f"reason={check.reason}")
        if check.reason == ChainProblem.REVOKED:
            return CERTIFICATE_REVOKED
        if check.reason == ChainProblem.UNKNOWN_CA:
            return CERTIFICATE_UNKNOWN_CA
        return CERTIFICATE_UNVERIFIED

    async def handle_RCPT(
        self, server: Any, session: MssSession, envelope: Any, address: str,
        rcpt_options: list[str],
    ) -> str:
        """T3, R1-R3, P1, P2 per recipient before the body is sent (docs/architecture.md §4)."""
        # RFC 5321 §4.5.3.1.10: past the limit, `452 4.5.3`; the client sends the rest later
        if len(envelope.rcpt_tos) >= self.options.max_recipients:
            return TOO_MANY_RECIPIENTS
        verdict = await self.pipeline.check_recipient(
            self.channel, null_path(envelope.mail_from), address,
            known=envelope.known_correspondents,
        )
        if verdict.refused:
            reply = verdict.smtp_reply()
            event(AuditAction.MESSAGE_REFUSED, queue_id=envelope.queue_id, stage="rcpt",
                  listener=self.listener, client=session.client_ip,
                  **{"from": null_path(envelope.mail_from) or "<>"}, to=address,
                  rule=verdict.rule, reply=reply)
            await self.audit(AuditAction.MESSAGE_REFUSED, address,
                             f"rule={verdict.rule} queue_id={envelope.queue_id} stage=rcpt "
                             f"client={session.client_ip}")
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return RECIPIENT_OK

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, SmtpReply):
            return error.render()
        if isinstance(error, TLSSetupException):
            await self.tls_failed(error)
            return TEMP_FAIL  # not sent: aiosmtpd closes the connection
        fault = storage_fault(error)
        if fault is StorageFault.DISK_FULL:
            log.error("%s: storage full, answering 452: %r", self.listener, error)
            return DISK_FULL  # RFC 3463 X.3.1: the client retries later
        if fault is StorageFault.DATABASE_UNAVAILABLE:
            log.error("%s: database unavailable, answering 451: %r", self.listener, error)
            return TEMP_FAIL
        log.exception("%s session error", self.listener)
        return TEMP_FAIL

    async def tls_failed(self, error: TLSSetupException) -> None:
        """A STARTTLS handshake failed (often a client certificate refused): who and why,
        in the log (stdlib ssl ends the handshake on a certificate it cannot verify, so
        the client hears a TLS alert, not a reply) and in the refusal counter."""
        client = getattr(error, "client_address", None)
        self.handshake_failed(str(client or "unknown"), error.__cause__ or error)

    def handshake_failed(self, client: str, error: BaseException,
                         listener: str | None = None) -> None:
        """A TLS handshake failed, STARTTLS or implicit (465, mss.certs.implicit_tls): one
        `tls.failed` line (session id, client address, reason) and the counters;
        `listener` names an implicit-TLS listener sharing this handler."""
        listener = listener or self.listener
        if not SESSION_ID.get():
            begin_session()  # implicit TLS: the handshake ran before any session began
        if isinstance(error, ssl.SSLError):
            check = check_from_ssl_error(error)
            event(AuditAction.TLS_FAILED, listener=listener, client=client,
                  reason=check.reason, detail=check.detail)
            if self.live_trust is not None:
                self.live_trust.refused(listener, check.reason)
        else:
            event(AuditAction.TLS_FAILED, listener=listener, client=client,
                  reason="handshake", detail=repr(error))

    def data_refused(self, session: MssSession, envelope: Any, reply: SmtpReply) -> str:
        """The whole message refused at DATA before the pipeline (bare line endings)."""
        rendered = reply.render()
        event(AuditAction.MESSAGE_REFUSED, queue_id=envelope.queue_id, stage="data",
              listener=self.listener, client=session.client_ip,
              **{"from": null_path(envelope.mail_from) or "<>"}, reply=rendered)
        return rendered

    def log_auth(self, session: MssSession, mechanism: str, user: str,
                    principal: Principal | None) -> None:
        """`auth.succeeded` / `auth.failed` (user, mechanism, client; never the secret):
        the failed ones are what fail2ban matches (docs/logging.md)."""
        if principal is None:
            event(AuditAction.AUTH_FAILED, protocol="smtp", listener=self.listener,
                  mechanism=mechanism, user=user, client=session.client_ip)
        else:
            event(AuditAction.AUTH_SUCCEEDED, protocol="smtp", listener=self.listener,
                  mechanism=mechanism, user=user, client=session.client_ip,
                  principal=principal.label(), mailbox=principal.mailbox)

    async def audit(self, action: AuditAction, target: str, detail: str,
                    principal: Any = "anonymous",
                    outcome: AuditOutcome = AuditOutcome.REFUSED) -> None:
        async def job(uow: UnitOfWork) -> None:
            uow.audit(action, principal, target=target[:300], outcome=outcome,
                      detail=detail[:1000])

        await self.store.write(job)
