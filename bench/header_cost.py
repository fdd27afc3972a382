"""CPU of the header work of one received message (issue 19), per part, in µs.

    python bench/header_cost.py [--count 3000] [--rounds 3]

What the MX does with the header section of each 4 KB message, in its order: the trace
fields (forged Authentication-Results removed, ours and Received prepended:
`MxHandler._traced` without DKIM), the pipeline's facts (`parse_message`), T4's author
fields (`author_fields`), and at delivery the store's header summary and sort keys
(`summarise_headers`, `sort_keys_of`). Messages are varied: most like
bench/smtp_ingest.py's `make_message`, others with Date, Cc, Reply-To, RFC 2047 and
RFC 6532 text, DKIM-Signature and Received fields of the peer, a few multipart with an
attachment. Each is unique (Message-ID, Subject, queue id), as on the wire.
Prints a table (time.process_time per part, the median of the rounds); asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mss.pipeline.author_fields import author_fields
from mss.pipeline.message_facts import parse_message
from mss.smtp import trace_headers
from mss.smtp.dkim_signatures import DkimResult
from mss.store.header_summary import summarise_headers
from mss.store.sort_keys import sort_keys_of

HOSTNAME = "mx.mss.test"
PEER_DOMAIN = "hopital-nord.test"
PEER_DN = "CN=mx.hopital-nord.test,O=Hopital Nord,C=FR"
LINE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
SIZE = 4096
PARTS = ("trace headers", "parse_message", "author_fields", "header summary", "sort keys")


def _body(head: str, size: int = SIZE) -> str:
    return LINE * max(1, (size - len(head)) // len(LINE))


def plain_message(index: int) -> bytes:
    """bench/smtp_ingest.py's `make_message` (a fixed Message-ID time part)."""
    head = (f"From: <bench@{PEER_DOMAIN}>\r\nTo: <dest@mss.test>\r\n"
            f"Subject: bench {index}\r\nMessage-ID: <{index}.1733300000000000000@bench>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    return (head + _body(head)).encode()


def rich_message(index: int, rng: random.Random) -> bytes:
    """A message as a mail client writes it, relayed by the peer's MTA."""
    sent = datetime(2026, 12, 4, 8, tzinfo=UTC) + timedelta(seconds=index * 7)
    author = rng.choice([
        f'"Dr Émilie Martin" <emilie.martin{index % 40}@{PEER_DOMAIN}>',
        f"=?utf-8?q?Jos=C3=A9_Garc=C3=ADa?= <jose{index % 40}@{PEER_DOMAIN}>",
        f"Paul Durand <paul.durand@{PEER_DOMAIN}>",
    ])
    subject = rng.choice([
        f"Compte rendu {index}",
        f"=?utf-8?q?R=C3=A9sultats_d=27analyse_{index}?=",
        f"Re: [cardio] Suivi du patient n°{index}",
        "=?iso-8859-1?b?"
        + base64.b64encode(f"Dossier {index} à compléter".encode("latin-1")).decode() + "?=",
    ])
    head = (
        f"Received: from client.{PEER_DOMAIN} ([192.0.2.{index % 250}])\r\n"
        f"\tby mx.{PEER_DOMAIN} (Postfix) with ESMTPSA id {index:08X}\r\n"
        f"\tfor <dest@mss.test>; {sent.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={PEER_DOMAIN};\r\n"
        f"\ts=mx; t={1733300000 + index}; h=from:to:cc:subject:date:message-id;\r\n"
        f"\tbh={base64.b64encode(rng.randbytes(32)).decode()};\r\n"
        f"\tb={base64.b64encode(rng.randbytes(128)).decode()}\r\n"
        + (f"Authentication-Results: {HOSTNAME}; dkim=pass header.d=forged.test\r\n"
           if index % 50 == 0 else "")
        + f"Authentication-Results: mx.{PEER_DOMAIN}; spf=pass smtp.mailfrom={PEER_DOMAIN}\r\n"
        f"Date: {sent.strftime('%a, %d %b %Y %H:%M:%S +0100')}\r\n"
        f"From: {author}\r\n"
        f"To: Secrétariat <secretariat@mss.test>, dest@mss.test\r\n"
        f"Cc: \"Durand, Paul\" <paul.durand@{PEER_DOMAIN}>, archives@{PEER_DOMAIN}\r\n"
        f"Reply-To: <secretariat@{PEER_DOMAIN}>\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{rng.getrandbits(64):x}.{index}@mx.{PEER_DOMAIN}>\r\n"
        + (f"In-Reply-To: <{index - 1}.thread@mx.{PEER_DOMAIN}>\r\n"
           f"References: <{index - 2}.thread@mx.{PEER_DOMAIN}>\r\n"
           f"\t<{index - 1}.thread@mx.{PEER_DOMAIN}>\r\n" if index % 3 == 0 else "")
        + "User-Agent: Thunderbird/128.5\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + _body(head)).encode()


def multipart_message(index: int, rng: random.Random) -> bytes:
    """A letter with a PDF attached."""
    boundary = f"=_b{index:06d}"
    head = (
        f"Date: Fri, 04 Dec 2026 09:{index % 60:02d}:00 +0100\r\n"
        f"From: Dr Martin <emilie.martin@{PEER_DOMAIN}>\r\nTo: <dest@mss.test>\r\n"
        f"Subject: Courrier {index}\r\nMessage-ID: <m{index}@mx.{PEER_DOMAIN}>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    )
    pdf = b"%PDF-1.7\n" + rng.randbytes(1800)
    encoded = base64.encodebytes(pdf).decode().replace("\n", "\r\n")
    text = f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + LINE * 12
    attached = (f"--{boundary}\r\nContent-Type: application/pdf; name=\"courrier-{index}.pdf\"\r\n"
                f"Content-Disposition: attachment; filename=\"courrier-{index}.pdf\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}--{boundary}--\r\n")
    return (head + text + attached).encode()


def messages(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    made = []
    for index in range(count):
        if index % 20 == 19:
            made.append(multipart_message(index + seed, rng))
        elif index % 5 in (1, 3):
            made.append(rich_message(index + seed, rng))
        else:
            made.append(plain_message(index + seed))
    return made


def traced(raw: bytes, index: int, now: datetime) -> bytes:
    """`MxHandler._traced` after DKIM (a verified signature of the peer)."""
    dkim = DkimResult("pass", domain=PEER_DOMAIN, selector="mx")
    combined = getattr(trace_headers, "traced_message", None)
    if combined is not None:
        return combined(  # type: ignore[no-any-return]
            raw, authserv_id=HOSTNAME, dkim=dkim, peer_dn=PEER_DN,
            from_helo=f"mx.{PEER_DOMAIN}", from_ip="192.0.2.25", by_host=HOSTNAME,
            protocol="ESMTPS", queue_id=f"Q{index:010X}", now=now,
            tls_version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", for_rcpt="dest@mss.test",
        )
    raw = trace_headers.remove_forged_authentication_results(raw, HOSTNAME)
    raw = trace_headers.prepend_header(raw, trace_headers.authentication_results(
        HOSTNAME, dkim, [f"x-mss-peer=pass policy.dn={trace_headers.quoted_value(PEER_DN)}"]
    ))
    return trace_headers.prepend_header(raw, trace_headers.received_header(
        from_helo=f"mx.{PEER_DOMAIN}", from_ip="192.0.2.25", by_host=HOSTNAME,
        protocol="ESMTPS", queue_id=f"Q{index:010X}", now=now,
        tls_version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", for_rcpt="dest@mss.test",
    ))


def one_round(batch: list[bytes], offset: int) -> dict[str, float]:
    """CPU seconds per part over `batch`, each message through every part in turn."""
    spent = dict.fromkeys(PARTS, 0.0)
    clock: Callable[[], float] = time.process_time
    now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    for index, original in enumerate(batch):
        t0 = clock()
        raw = traced(original, offset + index, now + timedelta(microseconds=index))
        t1 = clock()
        parsed = parse_message(raw)
        t2 = clock()
        author_fields(raw)
        t3 = clock()
        summary = summarise_headers(raw)  # mail_delivery._message_values
        t4 = clock()
        sort_keys_of(summary.subject, raw)
        t5 = clock()
        assert parsed.message_id
        for part, start, end in zip(PARTS, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5), strict=True):
            spent[part] += end - start
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [one_round(messages(args.count, seed=round_ * args.count), round_ * args.count)
              for round_ in range(args.rounds + 1)][1:]  # the first warms up
    print(f"{args.count} messages x {args.rounds} rounds (median), µs CPU per message")
    print(f"{'part':<16} {'µs':>8}")
    total = 0.0
    for part in PARTS:
        value = statistics.median(r[part] for r in rounds) / args.count * 1e6
        total += value
        print(f"{part:<16} {value:8.1f}")
    print(f"{'total':<16} {total:8.1f}")


if __name__ == "__main__":
    main()
