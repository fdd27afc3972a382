"""CPU of the header work of one received message (issue 19), per part, in µs.

    python bench/header_cost.py [--count 3000] [--rounds 3] [--against ../main]

What the MX does with the header section of each 4 KB message, in its order: the trace
fields (forged Authentication-Results removed, ours and Received prepended:
`MxHandler._traced` without DKIM), the pipeline's facts (`parse_message`), T4's author
fields (`author_fields`), and at delivery the store's header summary and sort keys
(`summarise_headers`, `sort_keys_of`). Messages are varied: most like
bench/smtp_ingest.py's `make_message` ("plain"), others with Date, Cc, Reply-To, RFC
2047 and RFC 6532 text, DKIM-Signature and Received fields of the peer ("rich"), one in
twenty multipart with a PDF attached; each is unique (Message-ID, Subject, queue id), as
on the wire. Prints a table (time.process_time per part and kind of message, the median
of the rounds); asserts nothing.

`--against DIR` measures the checkout in DIR too (e.g. main, for before/after), in
processes alternated with this one's, and prints both tables.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HOSTNAME = "mx.mss.test"
PEER_DOMAIN = "hopital-nord.test"
PEER_DN = "CN=mx.hopital-nord.test,O=Hopital Nord,C=FR"
LINE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
SIZE = 4096
PARTS = ("trace headers", "parse_message", "author_fields", "header summary", "sort keys")
KINDS = ("plain", "rich", "multipart")


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


def messages(count: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    made = []
    for index in range(count):
        if index % 20 == 19:
            made.append(("multipart", multipart_message(index + seed, rng)))
        elif index % 5 in (1, 3):
            made.append(("rich", rich_message(index + seed, rng)))
        else:
            made.append(("plain", plain_message(index + seed)))
    return made


def load(tree: Path) -> SimpleNamespace:
    """The functions measured, from the checkout in `tree`."""
    sys.path.insert(0, str(tree))
    modules = {name: importlib.import_module(name) for name in (
        "mss.pipeline.author_fields", "mss.pipeline.message_facts", "mss.smtp.trace_headers",
        "mss.smtp.dkim_signatures", "mss.store.header_summary", "mss.store.sort_keys")}
    return SimpleNamespace(
        author_fields=modules["mss.pipeline.author_fields"].author_fields,
        parse_message=modules["mss.pipeline.message_facts"].parse_message,
        trace=modules["mss.smtp.trace_headers"],
        dkim=modules["mss.smtp.dkim_signatures"].DkimResult("pass", domain=PEER_DOMAIN,
                                                            selector="mx"),
        summarise_headers=modules["mss.store.header_summary"].summarise_headers,
        sort_keys_of=modules["mss.store.sort_keys"].sort_keys_of,
    )


def traced(mss: SimpleNamespace, raw: bytes, index: int, now: datetime) -> bytes:
    """`MxHandler._traced` after DKIM (a verified signature of the peer)."""
    trace = mss.trace
    raw = trace.remove_forged_authentication_results(raw, HOSTNAME)
    raw = trace.prepend_header(raw, trace.authentication_results(
        HOSTNAME, mss.dkim, [f"x-mss-peer=pass policy.dn={trace.quoted_value(PEER_DN)}"]
    ))
    return trace.prepend_header(raw, trace.received_header(  # type: ignore[no-any-return]
        from_helo=f"mx.{PEER_DOMAIN}", from_ip="192.0.2.25", by_host=HOSTNAME,
        protocol="ESMTPS", queue_id=f"Q{index:010X}", now=now,
        tls_version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", for_rcpt="dest@mss.test",
    ))


def one_round(mss: SimpleNamespace, batch: list[tuple[str, bytes]], offset: int
              ) -> dict[str, dict[str, float]]:
    """CPU seconds per kind and part over `batch`, each message through every part."""
    spent = {kind: dict.fromkeys(PARTS, 0.0) for kind in KINDS}
    clock = time.process_time
    now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    for index, (kind, original) in enumerate(batch):
        t0 = clock()
        raw = traced(mss, original, offset + index, now + timedelta(microseconds=index))
        t1 = clock()
        parsed = mss.parse_message(raw)
        t2 = clock()
        mss.author_fields(raw)
        t3 = clock()
        summary = mss.summarise_headers(raw)  # mail_delivery._message_values
        t4 = clock()
        mss.sort_keys_of(summary.subject, raw)
        t5 = clock()
        assert parsed.message_id
        for part, start, end in zip(PARTS, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5),
                                    strict=True):
            spent[kind][part] += end - start
    return spent


def measure(tree: Path, count: int, rounds: int) -> dict[str, dict[str, float]]:
    """µs per message by kind ("mix": all) and part, the median of `rounds`."""
    mss = load(tree)
    batches = [messages(count, seed=round_ * count) for round_ in range(rounds + 1)]
    counts = {kind: sum(1 for k, _ in batches[0] if k == kind) for kind in KINDS}
    results = [one_round(mss, batch, n * count) for n, batch in enumerate(batches)][1:]
    table: dict[str, dict[str, float]] = {}
    for kind in (*KINDS, "mix"):
        kinds = KINDS if kind == "mix" else (kind,)
        number = sum(counts[k] for k in kinds)
        table[kind] = {part: statistics.median(
            sum(r[k][part] for k in kinds) for r in results) / number * 1e6 for part in PARTS}
    return table


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(title)
    columns = (*KINDS, "mix")
    print(f"{'part':<16}" + "".join(f"{column:>11}" for column in columns))
    for part in PARTS:
        print(f"{part:<16}" + "".join(f"{table[c][part]:11.1f}" for c in columns))
    print(f"{'total':<16}" + "".join(f"{sum(table[c].values()):11.1f}" for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout, measured too")
    parser.add_argument("--alternations", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is None:
        table = measure(args.tree, args.count, args.rounds)
        if args.json:
            print(json.dumps(table))
            return
        print_table(f"{args.tree}: {args.count} messages x {args.rounds} rounds (median), "
                    "µs CPU per message", table)
        return
    trees = [args.against.resolve(), args.tree]
    runs: dict[Path, list[dict[str, Any]]] = {tree: [] for tree in trees}
    for _ in range(args.alternations):
        for tree in trees:
            out = subprocess.run(
                [sys.executable, __file__, "--tree", str(tree), "--count", str(args.count),
                 "--rounds", str(args.rounds), "--json"],
                check=True, capture_output=True, text=True).stdout
            runs[tree].append(json.loads(out))
    for tree in trees:
        table = {kind: {part: statistics.median(run[kind][part] for run in runs[tree])
                        for part in PARTS} for kind in (*KINDS, "mix")}
        print_table(f"{tree}: median of {args.alternations} alternated processes, "
                    f"µs CPU per message", table)
    load_average = Path("/proc/loadavg").read_text().split()[:3]
    print("load average after:", " ".join(load_average))


if __name__ == "__main__":
    main()
