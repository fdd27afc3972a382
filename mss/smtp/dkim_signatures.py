"""DKIM signing and verification (RFC 6376, RFC 8463) with keys from the trust list, never DNS.

MSS signs what it sends to other operators and verifies what they send, as defence in
depth on top of mutual TLS (docs/architecture.md §9: MSS choice). Operator public keys travel in
the trust list, so verification answers dkimpy's key lookup from a table keyed by
(domain, selector); no DNS query is ever made.

dkimpy takes the signing time from the system clock (`t=`); nothing here depends on it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import dkim  # type: ignore[import-untyped]  # dkimpy ships no type hints
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

DkimAlgorithm = Literal["ed25519-sha256", "rsa-sha256"]
DkimVerdict = Literal["pass", "fail", "none", "permerror", "temperror"]

# RFC 6376 §5.4.1: the fields a verifier and a reader rely on; X-MSS-* headers are added
# at signing time because they carry the trust-space conventions (docs/architecture.md §9).
SIGNED_HEADERS: tuple[str, ...] = (
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id",
    "in-reply-to", "references", "mime-version", "content-type",
    "content-transfer-encoding", "disposition-notification-to",
)
# RFC 6376 §8.15: signing one more instance than present forbids adding one. From is the
# author; Reply-To, Subject (`[FIN]`) and X-MSS-MES change the conversation state with a
# patient (docs/architecture.md §4), so a hop must not be able to add them.
OVERSIGNED_HEADERS: tuple[str, ...] = ("from", "reply-to", "subject", "x-mss-mes")
MSS_HEADER_PREFIX = "x-mss-"


@dataclass(frozen=True, slots=True)
class DkimResult:
    """The outcome for the Authentication-Results field (RFC 8601 §2.7.1)."""

    result: DkimVerdict
    domain: str | None = None
    selector: str | None = None
    reason: str = ""


def header_names(raw: bytes) -> list[str]:
    """Names of the header fields of `raw`, in order, lower-cased (RFC 5322 §2.2)."""
    names = []
    for line in raw.splitlines():
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        name, colon, _ = line.partition(b":")
        if colon:
            names.append(name.strip().decode("ascii", "replace").lower())
    return names


def headers_to_sign(raw: bytes) -> list[str]:
    """The h= list for `raw`: present signed fields once per instance, oversigned ones +1."""
    present = header_names(raw)
    wanted = [name for name in SIGNED_HEADERS if name in present]
    wanted += sorted({name for name in present if name.startswith(MSS_HEADER_PREFIX)})
    chosen: list[str] = []
    for name in wanted:
        chosen += [name] * present.count(name)
    chosen += OVERSIGNED_HEADERS  # one more instance than present, even when absent
    return chosen


def _dkimpy_private_key(private_key: str | bytes, algorithm: DkimAlgorithm) -> bytes:
    """The key in the form dkimpy wants: PKCS#1 PEM for RSA, base64 raw seed for Ed25519.

    Accepts any PEM cryptography loads (PKCS#8 or PKCS#1), or for Ed25519 the base64 of
    the raw 32-byte seed as published by RFC 8463 tooling.
    """
    data = private_key.encode("ascii") if isinstance(private_key, str) else private_key
    if b"-----BEGIN" not in data:
        if algorithm != "ed25519-sha256":
            raise ValueError("an RSA DKIM key must be given as PEM")
        if len(base64.b64decode(data, validate=True)) != 32:
            raise ValueError("an Ed25519 DKIM key must be 32 raw bytes in base64")
        return data.strip()
    loaded = serialization.load_pem_private_key(data, password=None)
    if algorithm == "ed25519-sha256":
        if not isinstance(loaded, ed25519.Ed25519PrivateKey):
            raise ValueError("ed25519-sha256 needs an Ed25519 private key")
        seed = loaded.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(seed)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError("rsa-sha256 needs an RSA private key")
    return loaded.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def dkim_key_record(public_key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    """The TXT record text for a public key (RFC 6376 §3.6.1; RFC 8463 §4.2 for Ed25519)."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode('ascii')}"
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def sign_message(
    raw: bytes,
    *,
    domain: str,
    selector: str,
    private_key: str | bytes,
    algorithm: DkimAlgorithm = "ed25519-sha256",
    headers: Sequence[str] | None = None,
) -> bytes:
    """Return `raw` with a DKIM-Signature field prepended (RFC 6376 §5).

    relaxed/relaxed canonicalization (RFC 6376 §3.4) survives the refolding some hops do.
    `headers` overrides the h= list; by default `headers_to_sign(raw)`.
    """
    include = list(headers) if headers is not None else headers_to_sign(raw)
    signature = dkim.sign(
        raw,
        selector.encode("ascii"),
        domain.encode("ascii"),
        _dkimpy_private_key(private_key, algorithm),
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=algorithm.encode("ascii"),
        include_headers=[name.encode("ascii") for name in include],
    )
    return bytes(signature) + raw


def _key_table_lookup(keys: Mapping[tuple[str, str], str]) -> dict[bytes, bytes]:
    """The key table as dkimpy's DNS names `<selector>._domainkey.<domain>.`."""
    return {
        f"{selector}._domainkey.{domain}.".lower().encode("ascii"): record.encode("ascii")
        for (domain, selector), record in keys.items()
    }


def _verify_one(
    message: dkim.DKIM, index: int, records: Mapping[bytes, bytes]
) -> DkimResult:
    """One signature, mapped to RFC 8601 results (RFC 6376 §6.1: PERMFAIL → permerror)."""
    try:
        prepared = message.verify_headerprep(index)
    except dkim.DKIMException as error:
        return DkimResult("permerror", reason=f"bad signature field: {error}")
    if not prepared:
        return DkimResult("none")
    fields, include_headers, signature_headers = prepared
    domain = fields[b"d"].decode("ascii", "replace").lower()
    selector = fields[b"s"].decode("ascii", "replace").lower()
    name = fields[b"s"] + b"._domainkey." + fields[b"d"] + b"."
    record = records.get(name.lower())
    if record is None:
        # RFC 6376 §6.1.2: no key record is a PERMFAIL ("no key for signature").
        return DkimResult("permerror", domain, selector, "no key for signature")
    try:
        dkim.evaluate_pk(name, record)
    except dkim.DKIMException as error:
        return DkimResult("permerror", domain, selector, f"bad key record: {error}")

    def answer_from_table(query: bytes, timeout: int = 5) -> bytes | None:
        return records.get(query.lower())

    try:
        valid = message.verify_sig(
            fields, include_headers, signature_headers[index], answer_from_table
        )
    except dkim.ValidationError as error:
        # Raised after the fields were validated above: the body hash does not match.
        return DkimResult("fail", domain, selector, str(error).split(" (")[0])
    except dkim.DKIMException as error:
        return DkimResult("permerror", domain, selector, str(error))
    if valid:
        return DkimResult("pass", domain, selector)
    return DkimResult("fail", domain, selector, "signature did not verify")


def verify_message(raw: bytes, keys: Mapping[tuple[str, str], str]) -> DkimResult:
    """Verify the DKIM signatures of `raw` against the trust list's keys.

    `keys` maps (domain, selector) to the key record text (`v=DKIM1; k=ed25519; p=...`).
    The first passing signature wins; otherwise the result of the topmost one
    (RFC 6376 §6.1: a verifier may stop at the first success).
    """
    end = raw.find(b"\r\n\r\n")
    if b"dkim-signature" not in (raw if end < 0 else raw[:end]).lower():
        # dkimpy would parse the whole message to find no signature field (its header
        # section ends at or before the first empty line)
        return DkimResult("none", reason="no signature")
    message = dkim.DKIM(raw)
    count = sum(1 for name, _ in message.headers if name.lower() == b"dkim-signature")
    if count == 0:
        return DkimResult("none", reason="no signature")
    records = _key_table_lookup(keys)
    results = [_verify_one(message, index, records) for index in range(count)]
    passing = [result for result in results if result.result == "pass"]
    return passing[0] if passing else results[0]
