"""`mss trace QUEUE_ID|MESSAGE_ID` and `mss audit`: what happened, from the database;
`mss audit verify`: is the audit trail the one this operator wrote (docs/audit.md).

All read only (a reading transaction); `--json` prints one JSON document for scripts.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mss.pipeline.message_trace import MessageTrace, trace_message
from mss.store.audit_search import AuditQuery, search_audit
from mss.store.audit_verify import ChainReport
from mss.store.store import Store
from mss.store.tables import AuditEvent

_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def add_commands(sub: Any) -> None:
    p = sub.add_parser("trace", help="everything that happened to one message")
    p.add_argument("reference", metavar="QUEUE_ID|MESSAGE_ID",
                   help="the queue id of `250 ... queued as` or a log line, or a Message-ID")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p.set_defaults(handler=cmd_trace)
    p = sub.add_parser("audit", help="read the audit trail; `mss audit verify` checks it")
    p.add_argument("check", nargs="?", choices=["verify"],
                   help="verify: check every row's MAC, the chain's order and end against "
                        "the signed checkpoints (names the first bad row, exit 1)")
    p.add_argument("--mailbox", help="rows by, about or naming this address")
    p.add_argument("--patient", metavar="INS", help="rows about this patient")
    p.add_argument("--action", help="an action (auth.failed) or a family (auth, message)")
    p.add_argument("--since", metavar="T",
                   help="ISO date or time (UTC unless an offset is given), or 30m, 12h, 7d")
    p.add_argument("--limit", type=int, default=1000, help="newest rows kept (1000)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_audit)


def parse_since(text: str, now: datetime) -> datetime:
    from mss.cli import UserError

    relative = _RELATIVE.match(text.strip())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--since {text!r}: give an ISO date or time, or 30m, 12h, 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _reading(args: argparse.Namespace, action: Any) -> Any:
    from mss.cli import settings_from_args

    store = await Store.open(settings_from_args(args))
    try:
        async with store.reading() as session:
            return await action(session)
    finally:
        await store.close()


def _row_json(row: AuditEvent) -> dict[str, Any]:
    return {"chain": row.chain, "seq": row.seq, "at": row.at.isoformat(),
            "principal": row.principal, "action": row.action, "target": row.target,
            "outcome": row.outcome, "subject": row.subject, "detail": row.detail}


def format_row(at: datetime, action: str, principal: str, target: str, outcome: str,
               detail: str) -> str:
    mark = "" if outcome == "ok" else f" [{outcome}]"
    return f"{at:%Y-%m-%d %H:%M:%S}  {action}{mark}  {principal} -> {target or '-'}  {detail}"


def cmd_trace(args: argparse.Namespace) -> int:
    from mss.cli import UserError
    from mss.commands import run_store_task

    trace: MessageTrace = run_store_task(
        _reading(args, lambda session: trace_message(session, args.reference)))
    if not trace.found:
        raise UserError(f"no message known by {args.reference!r} (queue id or Message-ID)")
    if args.json:
        print(json.dumps(trace.as_json(), default=str, ensure_ascii=False, indent=2))
        return 0
    print(f"queue id:   {', '.join(trace.queue_ids) or '-'}")
    print(f"message-id: {', '.join(trace.message_ids) or '-'}")
    for step in trace.steps:
        print("  " + format_row(step.at, step.action, step.principal, step.target,
                                step.outcome, step.detail))
    if trace.copies:
        print("stored:")
        for copy in trace.copies:
            print(f"  {copy.queue_id}  {copy.mailbox}  {copy.folder}  uid={copy.uid} "
                  f"size={copy.size}")
    if trace.queue:
        print("queue:")
        for row in trace.queue:
            print(f"  {row.queue_id}  {row.recipient}  {row.status}  attempts={row.attempts} "
                  f"next={row.next_attempt_at:%Y-%m-%d %H:%M:%S}  {row.last_error}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from mss.cli import UserError
    from mss.commands import run_store_task

    if args.check == "verify":
        return cmd_audit_verify(args)
    if args.limit < 1:
        raise UserError("--limit: at least 1")
    since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    query = AuditQuery(mailbox=args.mailbox, patient=args.patient, action=args.action,
                       since=since, limit=args.limit)
    rows: list[AuditEvent] = run_store_task(
        _reading(args, lambda session: search_audit(session, query)))
    for row in rows:
        if args.json:
            print(json.dumps(_row_json(row), ensure_ascii=False))
        else:
            print(format_row(row.at, row.action, row.principal, row.target, row.outcome,
                             row.detail))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """One line either way: OK with what was checked, or the first bad row (exit 1)."""
    from mss.cli import UserError, settings_from_args
    from mss.commands import run_store_task
    from mss.store.verify import verify_audit

    async def run() -> tuple[ChainReport, list[str], str]:
        store = await Store.open(settings_from_args(args))
        try:
            async with store.reading() as session:
                report, file_faults = await verify_audit(store, session)
            return report, file_faults, store.audit_seal.public_key_hex()
        finally:
            await store.close()

    report, file_faults, public_key = run_store_task(run())
    if not report.ok:
        raise UserError(report.first_fault())
    if file_faults:
        raise UserError(file_faults[0])
    unkeyed = report.unkeyed
    print(f"audit chain: OK, {report.rows} rows in {len(report.chains)} chain(s)"
          + (f" ({unkeyed} written before the key, plain SHA-256)" if unkeyed else "")
          + f", {report.checkpoints} signed checkpoint(s), key ed25519:{public_key}")
    return 0
