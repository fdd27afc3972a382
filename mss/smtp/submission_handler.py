"""Message submission (RFC 6409) on 587 (STARTTLS) and 465 (implicit TLS, RFC 8314).

Invariants:
- AUTH only under TLS (aiosmtpd `auth_require_tls` on 587: `538 5.7.11` in clear; 465 is
  TLS from the first octet); no MAIL before AUTH: `530 5.7.0`;
- PLAIN (RFC 4616) and LOGIN check the password with
  `mss.directory.authentication.authenticate` (uniform failure, rate limited, audited);
  the PLAIN authorisation identity names an ORG mailbox the member acts on (docs/architecture.md
  §3);
- EXTERNAL (RFC 4422 appendix A) maps the TLS client certificate of an application to
  its APP mailbox through the certificate bindings; XOAUTH2 and OAUTHBEARER (RFC 7628)
  take a Pro Santé Connect token (mss.smtp.bearer_auth); the `[auth]` policy applies
  to every mechanism (passwords in the directory, tokens in mss.oidc, certificates here);
- MAIL FROM must be a mailbox the principal may send as (MSS policy T2, `553 5.7.1`);
  recipients are judged one by one at RCPT (T3, R1-R3, P1, P2); local and remote
  recipients share one transaction;
- `250` after the pipeline's commit; a copy goes to the sender's Sent folder;
- DSN (RFC 3461) is offered: NOTIFY/ORCPT/RET/ENVID travel with the queued recipients.
"""

from __future__ import annotations

import binascii
import logging
from base64 import b64decode
from typing import Any

from aiosmtpd.smtp import MISSING, AuthResult

from mss.directory.auth_policy import AuthMethod, principal_allows
from mss.directory.authentication import authenticate
from mss.directory.certificate_bindings import principal_for_certificate
from mss.event_log import event
from mss.identity import Principal
from mss.policy import Channel
from mss.smtp.bearer_auth import BearerMechanisms
from mss.smtp.common_hooks import CommonHooks
from mss.smtp.data_intake import null_path
from mss.smtp.protocol import MssEnvelope, MssSession
from mss.smtp.replies import (
    AUTH_REQUIRED,
    AUTH_SUCCESS,
    MUST_STARTTLS,
    SENDER_OK,
    SmtpReply,
)
from mss.smtp.tls_peer import tls_details
from mss.smtp.trace_headers import prepend_header, received_header, transmission_type
from mss.store.audit_actions import AuditAction, AuditOutcome

log = logging.getLogger(__name__)

BAD_BASE64 = "501 5.5.2 Cannot decode base64"
BAD_PLAIN = "501 5.5.2 Cannot split the PLAIN credentials"
USERNAME_CHALLENGE = "Username:"  # RFC 4954 does not fix the LOGIN prompts; these are usual
PASSWORD_CHALLENGE = "Password:"


def _decode(argument: str) -> bytes | None:
    if argument == "=":  # RFC 4954 §4: an empty initial response
        return b""
    try:
        return b64decode(argument.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


class SubmissionHandler(BearerMechanisms, CommonHooks):
    listener = "submission"
    offer_dsn = True
    offer_auth = True

    # -- AUTH mechanisms (aiosmtpd calls `auth_<NAME>(server, args)` on the handler) ----

    async def _response(self, server: Any, args: list[str], challenge: str) -> bytes | None:
        """The initial response, or the answer to one challenge; None when already replied."""
        if len(args) > 1:
            decoded = _decode(args[1])
            if decoded is None:
                await server.push(BAD_BASE64)
            return decoded
        answer = await server.challenge_auth(challenge)
        return None if answer is MISSING else answer

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:
        """RFC 4616: authzid NUL authcid NUL passwd."""
        blob = await self._response(server, args, "")
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push(BAD_PLAIN)
            return AuthResult(success=False, handled=True)
        authzid, login, password = (part.decode("utf-8", "replace") for part in parts)
        return await self._password(server, login, password, authzid or None, "PLAIN")

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:
        login = await self._response(server, args, USERNAME_CHALLENGE)
        if login is None:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(PASSWORD_CHALLENGE)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return await self._password(
            server, login.decode("utf-8", "replace"), password.decode("utf-8", "replace"), None,
            "LOGIN")

    async def auth_EXTERNAL(self, server: Any, args: list[str]) -> AuthResult:
        """RFC 4422 appendix A: the TLS client certificate is the credential."""
        if len(args) > 1:
            blob = _decode(args[1])
            if blob is None:
                await server.push(BAD_BASE64)
                return AuthResult(success=False, handled=True)
        else:
            await server.push("334 ")
            line = (await server._reader.readline()).strip()
            blob = _decode(line.decode("ascii", "replace"))
            if blob is None:
                await server.push(BAD_BASE64)
                return AuthResult(success=False, handled=True)
        authzid = blob.decode("utf-8", "replace").strip().lower()
        session: MssSession = server.session
        tls = tls_details(server.transport)
        identity = tls.peer_identity if tls else None
        principal = None
        if tls is not None and identity is not None:
            principal = await principal_for_certificate(
                self.store, subject_dn=identity.subject_dn,
                fingerprint_sha256=tls.peer_fingerprint,
            )
        if principal is not None and not principal_allows(
                self.settings.auth, principal, AuthMethod.CERTIFICATE,
                credential_mailbox=principal.mailbox):
            principal = None  # [auth]: certificates refused for this kind of mailbox
        if principal is None or (authzid and authzid != (principal.mailbox or "")):
            self.log_auth(session, "EXTERNAL",
                             identity.subject_dn if identity else "no certificate", None)
            await self.audit(
                AuditAction.AUTH_FAILED, identity.subject_dn if identity else "no certificate",
                f"mechanism=EXTERNAL client={session.client_ip}",
            )
            return AuthResult(success=False, handled=False)
        await self.audit(
            AuditAction.AUTH_SUCCEEDED, principal.mailbox or principal.ident,
            f"mechanism=EXTERNAL client={session.client_ip}", principal=principal,
            outcome=AuditOutcome.OK,
        )
        self.log_auth(session, "EXTERNAL", identity.subject_dn if identity else "", principal)
        return self._authenticated(session, principal)

    async def _password(
        self, server: Any, login: str, password: str, authzid: str | None, mechanism: str,
    ) -> AuthResult:
        session: MssSession = server.session
        principal = await authenticate(
            self.store, login, password, session.client_ip or "unknown", authzid=authzid
        )
        self.log_auth(session, mechanism, login, principal)
        if principal is None:
            return AuthResult(success=False, handled=False)  # 535 5.7.8 from aiosmtpd
        return self._authenticated(session, principal)

    def _authenticated(self, session: MssSession, principal: Principal) -> AuthResult:
        session.principal = principal
        return AuthResult(success=True, auth_data=principal, message=AUTH_SUCCESS)

    # -- transaction --------------------------------------------------------------------

    async def handle_MAIL(
        self, server: Any, session: MssSession, envelope: MssEnvelope, address: str,
        mail_options: list[str],
    ) -> str:
        if tls_details(server.transport) is None:
            return MUST_STARTTLS
        if not session.authenticated or session.principal is None:
            return AUTH_REQUIRED
        verdict = await self.pipeline.check_sender(session.principal, null_path(address),
                                                   envelope.known_rights)
        if verdict.refused:
            reply = verdict.smtp_reply()
            event(AuditAction.MESSAGE_REFUSED, queue_id=envelope.queue_id, stage="mail",
                  listener=self.listener, client=session.client_ip,
                  **{"from": null_path(address) or "<>"},
                  principal=session.principal.label(), rule=verdict.rule, reply=reply)
            return reply
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
        tls = tls_details(server.transport)
        rcpts = envelope.rcpt_tos
        raw = prepend_header(envelope.original_content or b"", received_header(
            from_helo=session.host_name or "unknown", from_ip=session.client_ip or "0.0.0.0",
            by_host=self.settings.server.hostname,
            protocol=transmission_type(esmtp=session.extended_smtp, tls=tls is not None,
                                       authenticated=True),
            queue_id=queue_id, now=self.store.clock.now(),
            tls_version=tls.version if tls else None, cipher=tls.cipher if tls else None,
            for_rcpt=rcpts[0] if len(rcpts) == 1 else None,
            authenticated_sender=session.principal.mailbox or session.principal.label(),
        ))
        return await self.intake.accept(
            envelope, raw, channel=Channel.SUBMISSION, principal=session.principal,
            peer=None, save_to_sent=True, queue_id=queue_id,
        )
