"""`mss queue list|retry ID|drop ID`: look at and act on the outbound queue."""

from __future__ import annotations

import argparse
from typing import Any

from mss.pipeline.queue_admin import QueueEntry, drop, list_queue, retry_now
from mss.store.store import Store


def add_commands(sub: Any) -> None:
    queue = sub.add_parser("queue", help="outbound queue").add_subparsers(dest="queue_command")
    p = queue.add_parser("list", help="recipients waiting, relayed or failed")
    p.add_argument("--status", choices=["queued", "delivered", "failed"])
    p.set_defaults(handler=cmd_list)
    p = queue.add_parser("retry", help="try this recipient again now")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_retry)
    p = queue.add_parser("drop", help="remove this recipient from the queue (no DSN)")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_drop)


def format_entry(entry: QueueEntry) -> str:
    line = (f"{entry.recipient_id:>6} {entry.status:<9} {entry.attempts:>3} "
            f"{entry.next_attempt_at:%Y-%m-%d %H:%M:%S} {entry.size:>9} "
            f"<{entry.mail_from}> -> <{entry.recipient}>")
    return line + (f"\n       {entry.last_error}" if entry.last_error else "")


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
    if not entries:
        print("queue empty")
    for entry in entries:
        print(format_entry(entry))
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
