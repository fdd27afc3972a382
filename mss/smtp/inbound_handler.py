"""The MX between operators: aiosmtpd handler hooks (docs/architecture.md §1, §4;
docs/architecture.md §8.2).

Invariants:
- no MAIL before STARTTLS: `530 5.7.0` (RFC 3207 §4);
- the peer is judged at MAIL FROM (MSS policy T1): a client certificate chained to our
  CA whose subject DN the trust list gives for the MAIL FROM domain, else `550 5.7.1`
  and a PEER_REFUSED audit row; a certificate refused during the handshake ends the
  connection there (stdlib ssl has no verify callback) and is logged with its reason;
- each recipient is judged at RCPT (T3, R1-R3, P1, P2), so refused ones never get data;
- at DATA: bare line endings refused, DKIM verified with the peer operator's keys from
  the directory (never DNS), forged Authentication-Results removed, ours and Received
  prepended, then the pipeline; `250` only after its commit;
- no DSN offered: a peer relays the sender's DSN requests no further than us, and we
  report delivery ourselves (RFC 3461 §5.2.2 "relayed" on their side).
"""

from __future__ import annotations

import logging
import re
import ssl
from typing import Any

from aiosmtpd.smtp import TLSSetupException

from mss.certs import check_from_ssl_error
from mss.directory.operators import operator_dkim_keys
from mss.event_log import event
from mss.identity import Principal, PrincipalKind
from mss.policy import Channel
from mss.policy.addresses import domain_of
from mss.smtp.common_hooks import CommonHooks
from mss.smtp.data_intake import null_path
from mss.smtp.dkim_signatures import DkimResult, verify_message
from mss.smtp.protocol import MssEnvelope, MssSession
from mss.smtp.replies import MUST_STARTTLS, SENDER_OK, SmtpReply
from mss.smtp.tls_peer import tls_details
from mss.smtp.trace_headers import (
    authentication_results,
    prepend_header,
    quoted_value,
    received_header,
    remove_forged_authentication_results,
    transmission_type,
)
from mss.store.audit_actions import AuditAction

log = logging.getLogger(__name__)

MAX_DKIM_DOMAINS = 5  # signatures of more domains than this are not looked up
_DOMAIN = re.compile(r"^[a-z0-9.-]+$")


def signing_domains(raw: bytes) -> list[str]:
    """The d= domains of the DKIM-Signature fields of `raw` (RFC 6376 §3.5), in order."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    domains: list[str] = []
    for field in re.split(rb"\r\n(?![ \t])", head):
        name, colon, value = field.partition(b":")
        if not colon or name.strip().lower() != b"dkim-signature":
            continue
        tags = re.sub(rb"\s+", b"", value).decode("ascii", "replace").split(";")
        for tag in tags:
            key, equals, domain = tag.partition("=")
            domain = domain.lower()
            if key == "d" and equals and _DOMAIN.match(domain) and domain not in domains:
                domains.append(domain)
    return domains[:MAX_DKIM_DOMAINS]


class MxHandler(CommonHooks):
    listener = "mx"
    channel = Channel.INBOUND

    async def handle_MAIL(
        self, server: Any, session: MssSession, envelope: MssEnvelope, address: str,
        mail_options: list[str],
    ) -> str:
        tls = tls_details(server.transport)
        if tls is None:
            return MUST_STARTTLS
        peer = tls.peer_certificate()
        mail_from = null_path(address)
        # One TLS session, one certificate: the T1 verdict per sender domain is kept for
        # the session (a trust-list import applies from the next connection).
        domain = domain_of(mail_from)
        verdict = session.peer_verdicts.get(domain)
        if verdict is None:
            verdict = await self.pipeline.check_peer(peer, mail_from)
            session.peer_verdicts[domain] = verdict
        if verdict.refused:
            reply = verdict.smtp_reply()
            event(AuditAction.PEER_REFUSED, queue_id=envelope.queue_id, stage="mail",
                  listener=self.listener, client=session.client_ip,
                  **{"from": mail_from or "<>"}, peer_subject=peer.subject_dn,
                  rule=verdict.rule, reply=reply)
            await self.audit(
                AuditAction.PEER_REFUSED, peer.subject_dn or session.client_ip,
                f"rule={verdict.rule} client={session.client_ip} mail_from={mail_from}",
            )
            return reply
        identity = tls.peer_identity
        assert identity is not None
        session.peer_certificate = peer
        session.principal = Principal(
            PrincipalKind.PEER_OPERATOR, identity.subject_dn, domain_of(mail_from)
        )
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return SENDER_OK

    async def handle_DATA(
        self, server: Any, session: MssSession, envelope: MssEnvelope
    ) -> str:
        try:
            self.intake.check_line_endings(envelope)
        except SmtpReply as reply:
            return self.data_refused(session, envelope, reply)
        assert session.principal is not None
        queue_id = envelope.queue_id
        raw = await self._traced(server, session, envelope, queue_id)
        return await self.intake.accept(
            envelope, raw, channel=Channel.INBOUND, principal=session.principal,
            peer=session.peer_certificate, save_to_sent=False, queue_id=queue_id,
        )

    async def _dkim(self, raw: bytes) -> DkimResult:
        keys: dict[tuple[str, str], str] = {}
        for domain in signing_domains(raw):
            for key in await operator_dkim_keys(self.store, domain):
                keys[(key.domain, key.selector)] = key.txt
        try:
            return verify_message(raw, keys)
        except Exception as error:  # dkimpy on a malformed message
            log.info("DKIM verification error: %r", error)
            return DkimResult("permerror", reason="malformed message")

    async def _traced(
        self, server: Any, session: MssSession, envelope: MssEnvelope, queue_id: str
    ) -> bytes:
        """RFC 8601 Authentication-Results then RFC 5321 §4.4 Received, on top."""
        raw = envelope.original_content or b""
        hostname = self.settings.server.hostname
        dkim = await self._dkim(raw)
        peer_dn = session.peer_certificate.subject_dn if session.peer_certificate else ""
        raw = remove_forged_authentication_results(raw, hostname)
        raw = prepend_header(raw, authentication_results(
            hostname, dkim, [f"x-mss-peer=pass policy.dn={quoted_value(peer_dn or '')}"]
        ))
        tls = tls_details(server.transport)
        rcpts = envelope.rcpt_tos
        return prepend_header(raw, received_header(
            from_helo=session.host_name or "unknown", from_ip=session.client_ip or "0.0.0.0",
            by_host=hostname,
            protocol=transmission_type(esmtp=session.extended_smtp, tls=tls is not None,
                                       authenticated=False),
            queue_id=queue_id, now=self.store.clock.now(),
            tls_version=tls.version if tls else None, cipher=tls.cipher if tls else None,
            for_rcpt=rcpts[0] if len(rcpts) == 1 else None,
        ))

    async def tls_failed(self, error: TLSSetupException) -> None:
        await super().tls_failed(error)
        cause = error.__cause__
        reason = check_from_ssl_error(cause).reason if isinstance(cause, ssl.SSLError) else "?"
        client = getattr(error, "client_address", "?")
        await self.audit(AuditAction.PEER_REFUSED, "tls",
                         f"handshake refused: {reason} client={client}")
