"""`mss queue list|retry ID|drop ID`: look at and act on the outbound queue;
`mss dkim show`: this operator's DKIM public keys as DNS TXT records."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mss.pipeline.queue_admin import QueueEntry, drop, list_queue, retry_now
from mss.store.store import Store


def add_commands(sub: Any) -> None:
    queue = sub.add_parser("queue", help="outbound queue").add_subparsers(dest="queue_command")
    p = queue.add_parser("list", help="recipients waiting, relayed or failed")
    p.add_argument("--status", choices=["queued", "delivered", "failed"])
    p.add_argument("--json", action="store_true", help="a JSON array, one object per row")
    p.set_defaults(handler=cmd_list)
    p = queue.add_parser("retry", help="try this recipient again now")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_retry)
    p = queue.add_parser("drop", help="remove this recipient from the queue (no DSN)")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_drop)
    dkim = sub.add_parser("dkim", help="DKIM signing keys").add_subparsers(dest="dkim_command")
    p = dkim.add_parser("show", help="public keys as the DNS TXT records a peer publishes")
    p.set_defaults(handler=cmd_dkim_show, needs_data="folder")


def zone_file_record(name: str, txt: str) -> str:
    """`name. IN TXT ( "..." "..." )`: a TXT string holds at most 255 octets
    (RFC 1035 §3.3.14), so a long record (an RSA key) is split in several."""
    pieces = [txt[i:i + 255] for i in range(0, len(txt), 255)]
    quoted = " ".join(f'"{piece}"' for piece in pieces)
    return f"{name}. IN TXT ( {quoted} )" if len(pieces) > 1 else f"{name}. IN TXT {quoted}"


def cmd_dkim_show(args: argparse.Namespace) -> int:
    from mss.certs.dkim_keys import load_dkim_key
    from mss.cli import UserError, settings_from_args
    from mss.smtp.outbound_worker import dkim_folder

    settings = settings_from_args(args)
    folder = dkim_folder(settings)
    selectors = (settings.smtp.dkim_selector, settings.smtp.dkim_rsa_selector)
    keys = []
    for selector in selectors:
        try:
            keys.append(load_dkim_key(folder, selector))
        except FileNotFoundError:
            continue
        except (ValueError, OSError) as exc:
            raise UserError(f"{folder / selector}.dkim.key: unreadable key ({exc})") from None
    if not keys:
        raise UserError(f"no DKIM key yet in {folder} (`mss serve` makes them on first start)")
    for key in keys:
        print(f"# {key.algorithm.value} key {key.selector}, "
              f"private key file {key.private_key_path}")
        print(zone_file_record(key.record_name(settings.server.domain), key.txt_record))
    return 0


QUEUE_COLUMNS = ("ID", "QUEUE ID", "STATUS", "TRIES", "NEXT ATTEMPT (UTC)", "SIZE", "FROM",
                 "TO", "LAST REPLY")


def queue_row(entry: QueueEntry) -> tuple[str, ...]:
    """One table row: ID is what `mss queue retry|drop` take, QUEUE ID the id the client
    was given and the logs carry."""
    return (str(entry.recipient_id), entry.queue_id or "-", entry.status, str(entry.attempts),
            f"{entry.next_attempt_at:%Y-%m-%d %H:%M:%S}", str(entry.size), entry.mail_from or "<>",
            entry.recipient, " ".join(entry.last_error.split()) or "-")


def queue_table(entries: list[QueueEntry]) -> list[str]:
    """Aligned columns under a header; the last reply, the last column, is not padded."""
    rows = [QUEUE_COLUMNS, *(queue_row(e) for e in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(QUEUE_COLUMNS) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                       row[-1]]).rstrip() for row in rows]


def queue_json(entries: list[QueueEntry]) -> str:
    return json.dumps([{
        "id": e.recipient_id, "queue_id": e.queue_id or None, "status": e.status,
        "attempts": e.attempts, "next_attempt_at": e.next_attempt_at.isoformat(),
        "created_at": e.created_at.isoformat(), "size": e.size, "mail_from": e.mail_from,
        "recipient": e.recipient, "last_reply": e.last_error or None,
    } for e in entries], indent=2)


async def _with_store(args: argparse.Namespace, action: Any) -> Any:
    from mss.cli import settings_from_args

    store = await Store.open(settings_from_args(args))
    try:
        return await action(store)
    finally:
        await store.close()


def cmd_list(args: argparse.Namespace) -> int:
    from mss.commands import run_store_task

    entries = run_store_task(_with_store(args, lambda s: list_queue(s, args.status)))
    if args.json:
        print(queue_json(entries))
    elif not entries:
        print("queue empty")
    else:
        print("\n".join(queue_table(entries)))
    return 0


def _act(args: argparse.Namespace, action: Any, verb: str) -> int:
    from mss.cli import UserError
    from mss.commands import run_store_task

    if not run_store_task(_with_store(args, lambda s: action(s, args.id))):
        raise UserError(f"no queue entry {args.id}")
    print(f"queue entry {args.id} {verb}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    return _act(args, retry_now, "will be retried now")


def cmd_drop(args: argparse.Namespace) -> int:
    return _act(args, drop, "dropped")
