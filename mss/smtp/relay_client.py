"""One delivery attempt to a peer operator's MX, with aiosmtplib (RFC 5321 client side).

Invariants:
- only the endpoint configured for the recipient domain is contacted (no MX lookup, no
  open-Internet relay, docs/architecture.md §4 T3);
- nothing is sent before STARTTLS with our client certificate has succeeded, the peer's
  certificate chains to our CA (and passes the CRL), and its subject DN is one the trust
  list gives for the recipient domain. The host name is not what identifies a peer in the
  trust space, its DN is: the context checks the chain, this module checks the DN;
- every outcome is per recipient, with the reply code when there was one, so that the
  worker can classify it (mss.smtp.retry_schedule.classify_failure).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from mss.distinguished_names import dn_lookup_key
from mss.smtp.retry_schedule import FailureKind
from mss.smtp.tls_peer import tls_details

_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\s")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one recipient in one attempt."""

    delivered: bool
    text: str
    code: int | None = None
    enhanced: str | None = None
    kind: FailureKind | None = None

    @property
    def reply_line(self) -> str | None:
        if self.code is None:
            return None
        return f"{self.code} {self.text}".strip()


@dataclass(frozen=True, slots=True)
class RelayRecipient:
    address: str
    options: tuple[str, ...] = ()


def _from_reply(error: aiosmtplib.SMTPResponseException) -> Outcome:
    message = " ".join(str(error.message).split())[:500]
    match = _ENHANCED.match(message)
    return Outcome(False, message, error.code, match.group(1) if match else None)


def _failure(kind: FailureKind, text: str) -> Outcome:
    return Outcome(False, text[:500], kind=kind)


async def relay_message(
    *,
    host: str,
    port: int,
    tls_context: ssl.SSLContext,
    local_hostname: str,
    allowed_dns: frozenset[str],
    domain: str,
    mail_from: str,
    recipients: Sequence[RelayRecipient],
    message: bytes,
    timeout: float,
) -> dict[str, Outcome]:
    """Send `message` to `recipients` (all of one domain) in one transaction."""
    every = [r.address for r in recipients]

    def all_failed(outcome: Outcome) -> dict[str, Outcome]:
        return dict.fromkeys(every, outcome)

    client = aiosmtplib.SMTP(
        hostname=host, port=port, local_hostname=local_hostname, timeout=timeout,
        use_tls=False, start_tls=False, tls_context=tls_context,
    )
    try:
        await client.connect()
    except aiosmtplib.SMTPConnectTimeoutError as error:
        return all_failed(_failure(FailureKind.TIMEOUT, f"connect to {host}:{port}: {error}"))
    except (aiosmtplib.SMTPConnectError, OSError) as error:
        return all_failed(_failure(FailureKind.CONNECTION_REFUSED,
                                   f"connect to {host}:{port}: {error}"))
    except aiosmtplib.SMTPResponseException as error:
        return all_failed(_from_reply(error))
    try:
        return await _transaction(client, allowed_dns, domain, mail_from, recipients, message)
    except aiosmtplib.SMTPTimeoutError as error:
        return all_failed(_failure(FailureKind.TIMEOUT, f"{host}:{port}: {error}"))
    except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
        return all_failed(_failure(FailureKind.CONNECTION_LOST, f"{host}:{port}: {error}"))
    except aiosmtplib.SMTPResponseException as error:
        return all_failed(_from_reply(error))
    except aiosmtplib.SMTPException as error:
        return all_failed(_failure(FailureKind.PROTOCOL_ERROR, f"{host}:{port}: {error}"))
    finally:
        if client.is_connected:
            try:
                await asyncio.wait_for(client.quit(), timeout=5)
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                client.close()


async def _transaction(
    client: aiosmtplib.SMTP, allowed_dns: frozenset[str], domain: str, mail_from: str,
    recipients: Sequence[RelayRecipient], message: bytes,
) -> dict[str, Outcome]:
    every = [r.address for r in recipients]
    await client.ehlo()
    if not client.supports_extension("starttls"):
        return dict.fromkeys(every, _failure(
            FailureKind.STARTTLS_NOT_OFFERED, "peer does not offer STARTTLS"))
    try:
        await client.starttls()
    except (ssl.SSLCertVerificationError, aiosmtplib.SMTPConnectError) as error:
        cause = error if isinstance(error, ssl.SSLError) else error.__cause__
        kind = (FailureKind.PEER_CERTIFICATE_REFUSED
                if isinstance(cause, ssl.SSLCertVerificationError) else FailureKind.TLS_HANDSHAKE)
        return dict.fromkeys(every, _failure(kind, f"TLS with peer failed: {error}"))
    except ssl.SSLError as error:
        return dict.fromkeys(every, _failure(FailureKind.TLS_HANDSHAKE,
                                             f"TLS with peer failed: {error}"))
    await client.ehlo()  # RFC 3207 §4.2: forget what was said in clear, ask again
    tls = tls_details(client.transport)
    identity = tls.peer_identity if tls else None
    if identity is None or dn_lookup_key(identity.subject_dn) not in allowed_dns:
        shown = identity.subject_dn if identity else "none"
        return dict.fromkeys(every, _failure(
            FailureKind.PEER_CERTIFICATE_REFUSED,
            f"peer certificate DN {shown} is not listed for {domain} in the trust list"))
    limit = client.esmtp_extensions.get("size", "")
    if limit.isdigit() and 0 < int(limit) < len(message):
        return dict.fromkeys(every, _failure(
            FailureKind.MESSAGE_TOO_BIG_FOR_PEER,
            f"message of {len(message)} octets over the peer's SIZE {limit}"))
    options = [f"SIZE={len(message)}"]
    if any(octet > 127 for octet in message) and client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    utf8 = not mail_from.isascii() or any(not r.address.isascii() for r in recipients)
    if utf8:
        options.append("SMTPUTF8")
    await client.mail(mail_from, options=options, encoding="utf-8" if utf8 else "ascii")
    outcomes: dict[str, Outcome] = {}
    accepted: list[str] = []
    for recipient in recipients:
        try:
            await client.rcpt(recipient.address, options=list(recipient.options),
                              encoding="utf-8" if utf8 else "ascii")
            accepted.append(recipient.address)
        except aiosmtplib.SMTPRecipientRefused as error:
            outcomes[recipient.address] = _from_reply(error)
    if not accepted:
        await client.rset()
        return outcomes
    try:
        response = await client.data(message)
    except aiosmtplib.SMTPDataError as error:
        outcomes.update(dict.fromkeys(accepted, _from_reply(error)))
        return outcomes
    text = " ".join(response.message.split())[:500]
    outcomes.update(dict.fromkeys(accepted, Outcome(True, text, response.code)))
    return outcomes
