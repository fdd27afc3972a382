"""`mss vault list INS` and `mss vault deposits INS`: what the vault holds for a patient.

For the operator's support: metadata only (space, title, type, provenance), never
content. Each run is an audit row with the patient as subject, so the patient sees that
the operator looked (docs/architecture.md §9: every access is traced).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sqlalchemy import select

from mss.cli import UserError, settings_from_args
from mss.identity import Principal, PrincipalKind
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from mss.vault.spaces import PatientSpace
from mss.vault.tables import DepositRow, DocumentRow

CLI = Principal(PrincipalKind.SYSTEM, "cli", "mss command line")


def add_commands(sub: Any) -> None:
    vault = sub.add_parser("vault", help="patient documents (metadata only)")
    commands = vault.add_subparsers(dest="vault_command")
    p = commands.add_parser("list", help="a patient's documents by space")
    p.add_argument("ins")
    p.add_argument("--space", choices=[s.value for s in PatientSpace])
    p.set_defaults(handler=cmd_list)
    p = commands.add_parser("deposits", help="status of the latest deposits for a patient")
    p.add_argument("ins")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=cmd_deposits)


async def _audited(store: Store, ins: str, detail: str) -> None:
    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.DOCUMENT_LISTED, CLI, subject=ins, detail=detail)

    await store.write(job)


async def list_lines(store: Store, ins: str, space: str | None) -> list[str]:
    query = select(DocumentRow).where(DocumentRow.patient_ins == ins,
                                      DocumentRow.deleted.is_(False))
    async with store.reading() as session:
        rows = (await session.execute(query.order_by(DocumentRow.id))).scalars().all()
    await _audited(store, ins, f"operator list space={space or 'all'}")
    counts = dict.fromkeys((s.value for s in PatientSpace), 0)
    lines: list[str] = []
    for row in rows:
        if row.copy_of_id is None:
            counts[row.space] += 1
        if space is None or row.space == space:
            copy = f" (PDF copy of {row.copy_of_id})" if row.copy_of_id else ""
            lines.append(f"{row.id:>8}  {row.space:<25} {row.type_code or '-':<10} "
                         f"{row.title[:40]:<40} {row.sender_mailbox} "
                         f"{row.received_at:%Y-%m-%d %H:%M}{copy}")
    summary = ", ".join(f"{name}: {n}" for name, n in counts.items())
    return [summary, *lines]


async def deposit_lines(store: Store, ins: str, limit: int) -> list[str]:
    query = (select(DepositRow).where(DepositRow.patient_ins == ins)
             .order_by(DepositRow.id.desc()).limit(limit))
    async with store.reading() as session:
        rows = (await session.execute(query)).scalars().all()
    await _audited(store, ins, f"operator deposits count={len(rows)}")
    return [f"{r.id:>8}  {r.at:%Y-%m-%d %H:%M}  {r.status:<9} documents={r.documents} "
            f"problems={r.problems} error={r.error_code or '-'} {r.sender_mailbox} "
            f"{r.source_message_id} {r.reason}".rstrip() for r in rows]


def _run(args: argparse.Namespace, lines: Any) -> int:
    settings = settings_from_args(args)
    ins = args.ins.strip().upper()
    if len(ins) != 15:
        raise UserError(f"an INS has 15 characters: {args.ins!r}")

    async def main() -> list[str]:
        store = await Store.open(settings)
        try:
            return list(await lines(store, ins))
        finally:
            await store.close()

    for line in asyncio.run(main()):
        print(line)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    return _run(args, lambda store, ins: list_lines(store, ins, args.space))


def cmd_deposits(args: argparse.Namespace) -> int:
    return _run(args, lambda store, ins: deposit_lines(store, ins, args.limit))
