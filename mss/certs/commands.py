"""`mss certs ...`: create the dev PKI, issue, revoke and list certificates.

Serials are shown and typed in upper-case hexadecimal (as `openssl x509 -serial`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from mss.certs.dev_pki import (
    DevPki,
    IssuedCertificate,
    PkiMissingError,
    UnknownSerialError,
    serial_from_text,
    serial_to_hex,
)
from mss.certs.profiles import DEFAULT_VALIDITY_DAYS
from mss.certs.server_pki import (
    DEV_DEPARTMENT,
    DEV_ORGANISATION,
    DEV_STRUCTURE_ID,
    ensure_server_pki,
)
from mss.cli import UserError, settings_from_args
from mss.config import Settings

T = TypeVar("T")


def _load(args: argparse.Namespace) -> DevPki:
    settings = settings_from_args(args)
    try:
        return DevPki.load(settings.pki_dir)
    except PkiMissingError:
        raise UserError(f"no PKI in {settings.pki_dir}: run `mss certs init` first") from None


def _print_issued(issued: IssuedCertificate) -> None:
    print(f"serial:      {issued.serial_hex}")
    print(f"kind:        {issued.kind.value}")
    print(f"subject:     {issued.subject_dn}")
    print(f"not after:   {issued.not_after.isoformat()}")
    print(f"certificate: {issued.cert_path}")
    print(f"chain:       {issued.chain_path}")
    print(f"key:         {issued.key_path}")


def run_init(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        pki = ensure_server_pki(
            settings,
            organisation=args.org,
            structure_id=args.structure_id,
            department=args.dept,
        )
    except FileExistsError as exc:
        raise UserError(f"half-made PKI in {settings.pki_dir}: {exc.filename} exists") from None
    paths = pki.paths
    print(f"PKI folder:     {paths.folder}")
    print(f"CA bundle:      {paths.ca_bundle}")
    print(f"CRL:            {paths.crl}")
    print(f"server chain:   {paths.server_chain}")
    print(f"server key:     {paths.server_key}")
    server = pki.server_certificate()
    if server is not None:
        print(f"server serial:  {serial_to_hex(server.serial_number)}")
    return 0


def _days(args: argparse.Namespace) -> int:
    if args.days <= 0:
        raise UserError("--days must be positive")
    return int(args.days)


def run_issue_operator(args: argparse.Namespace) -> int:
    days = _days(args)
    issued = _issue(args, lambda pki: pki.issue_operator(
        args.host, args.structure_id, args.org, args.dept, days=days))
    _print_issued(issued)
    return 0


def run_issue_application(args: argparse.Namespace) -> int:
    days = _days(args)
    issued = _issue(args, lambda pki: pki.issue_application(
        args.name, args.structure_id, args.org, days=days))
    _print_issued(issued)
    return 0


def run_issue_professional(args: argparse.Namespace) -> int:
    try:
        days = _days(args)
        issued = _issue(args, lambda pki: pki.issue_professional(
            args.rpps, args.name, organisation=args.org, structure_id=args.structure_id,
            days=days))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    _print_issued(issued)
    return 0


def _announce_revocation(settings: Settings, serial: int) -> str:
    """One node (SQLite, or no master key yet): audit the revocation and publish a "crl"
    change event, so that every process of the node reloads the CRL now (the MX
    processes' hub); without a database the running processes see the new file within
    trust.crl_check_seconds."""
    import asyncio

    from mss.store.store import Store

    later = f"running servers apply it within {settings.trust.crl_check_seconds} s"
    sqlite_file = settings.data_dir / "mss.db"
    if not settings.master_key_path.exists() or (
            not settings.database.url and not sqlite_file.exists()):
        return later

    async def announce() -> None:
        store = await Store.open(settings)
        try:
            await store.write(_revocation_job(serial))
        finally:
            await store.close()

    try:
        asyncio.run(announce())
    except Exception as exc:  # the CRL is written: the file check still carries it
        return f"{later} (no change event: {type(exc).__name__})"
    return "running servers told"


def _clustered(settings: Settings) -> bool:
    from mss.store.db import is_sqlite

    return settings.master_key_path.exists() and not is_sqlite(settings.database_url)


def _change_in_cluster(settings: Settings, pki: DevPki, change: Callable[[], T],
                       job: Any = None) -> tuple[T, list[str] | None]:
    """Several nodes (PostgreSQL; mss.store.node_files): this node's PKI files are
    brought in step with the database first (the change is made over the cluster's
    index and CRL, not over a copy another node has changed since), the files it
    changed are sealed into the database at once, then `job` (audit, change event) is
    written: every node's node-file pass fetches them on the event (else within
    trust.node_files_seconds). The change's result and the names sealed; None when the
    database is out of reach: the change is made here all the same (a revocation must
    not wait), and this node's own pass seals it once the database answers."""
    import asyncio

    from mss.store.node_files import NodeFiles
    from mss.store.store import Store

    folders = [settings.pki_dir]

    async def run() -> tuple[T, list[str] | None]:
        try:
            store = await Store.open(settings)
        except Exception:
            return await asyncio.to_thread(change), None
        try:
            files = NodeFiles(store.keyring)
            await store.sync_node_files(files, folders, lock=pki.locked)
            result = await asyncio.to_thread(change)
            sealed = await store.sync_node_files(files, folders, lock=pki.locked)
            if job is not None:
                await store.write(job)
        finally:
            await store.close()
        return result, sealed.published

    return asyncio.run(run())


def _revoke_in_cluster(settings: Settings, pki: DevPki, serial: int) -> tuple[bool, str]:
    """The revocation sealed at once and announced ("crl"): each node's live trust
    refuses the certificate at the next handshake or command once its pass ran."""
    changed, sealed = _change_in_cluster(settings, pki, lambda: pki.revoke(serial),
                                         _revocation_job(serial))
    if sealed is None:
        return changed, "database out of reach: this node's pass seals the CRL once it answers"
    crl_name = pki.paths.crl.relative_to(settings.data_dir).as_posix()
    where = "sealed in the database" if crl_name in sealed else "already in the database"
    return changed, f"{where}; running servers told"


def _issue(args: argparse.Namespace,
           make: Callable[[DevPki], IssuedCertificate]) -> IssuedCertificate:
    """Issue on this node's PKI; with several nodes, in step with the database before
    and after (another node's revocation is never lost under a newer index)."""
    settings = settings_from_args(args)
    pki = _load(args)
    if not _clustered(settings):
        return make(pki)
    issued, _ = _change_in_cluster(settings, pki, lambda: make(pki))
    return issued


def _revocation_job(serial: int) -> Any:
    from mss.store.audit_actions import AuditAction
    from mss.store.events import CRL_CHANGED
    from mss.store.unit_of_work import UnitOfWork

    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.CERT_REVOKED, "system:mss-cli", target=serial_to_hex(serial),
                  detail="mss certs revoke")
        uow.publish(CRL_CHANGED)

    return job


def run_revoke(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    pki = _load(args)
    try:
        serial = serial_from_text(args.serial)
    except ValueError:
        raise UserError(f"not a hexadecimal serial: {args.serial!r}") from None
    try:
        if _clustered(settings):
            changed, told = _revoke_in_cluster(settings, pki, serial)
        else:
            changed = pki.revoke(serial)
            told = _announce_revocation(settings, serial)
    except UnknownSerialError:
        raise UserError(f"no certificate with serial {serial_to_hex(serial)}") from None
    state = "revoked" if changed else "was already revoked"
    print(f"{serial_to_hex(serial)} {state}; CRL written to {pki.paths.crl}; {told}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    pki = _load(args)
    for issued in pki.issued():
        if issued.revoked_at is not None:
            status = "revoked"
        elif issued.not_after < pki.clock.now():
            status = "expired"
        else:
            status = "valid"
        print(
            f"{issued.serial_hex}\t{issued.kind.value}\t{status}\t"
            f"{issued.not_after.date().isoformat()}\t{issued.subject_dn}"
        )
    return 0


def _add_days(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, default=DEFAULT_VALIDITY_DAYS, help="validity (default 3 years)"
    )


def add_commands(sub: Any) -> None:
    certs = sub.add_parser("certs", help="dev PKI: CA, certificates, CRL")
    certs.set_defaults(needs_data="folder")  # files only: no key or database needed
    certs_sub = certs.add_subparsers(dest="certs_command", metavar="ACTION", required=True)

    init = certs_sub.add_parser("init", help="create the PKI and server certificate (idempotent)")
    init.add_argument("--org", default=DEV_ORGANISATION, help="organisation of the server cert")
    init.add_argument("--structure-id", default=DEV_STRUCTURE_ID, help="structure id (OU)")
    init.add_argument("--dept", default=DEV_DEPARTMENT, help="département (ST)")
    init.set_defaults(handler=run_init)

    issue = certs_sub.add_parser("issue", help="issue a certificate")
    issue_sub = issue.add_subparsers(dest="issue_kind", metavar="KIND", required=True)

    operator = issue_sub.add_parser("operator", help="another operator's server certificate")
    operator.add_argument("--host", required=True)
    operator.add_argument("--structure-id", required=True)
    operator.add_argument("--org", required=True)
    operator.add_argument("--dept", required=True, help="e.g. 'Paris (75)'")
    _add_days(operator)
    operator.set_defaults(handler=run_issue_operator)

    application = issue_sub.add_parser("application", help="certificate of an APP mailbox")
    application.add_argument("--name", required=True, help="application name (CN)")
    application.add_argument("--structure-id", required=True)
    application.add_argument("--org", required=True)
    _add_days(application)
    application.set_defaults(handler=run_issue_application)

    professional = issue_sub.add_parser("professional", help="CPS-like professional certificate")
    professional.add_argument("--rpps", required=True, help="11-digit RPPS number")
    professional.add_argument("--name", required=True, help="professional's name (CN)")
    professional.add_argument("--org", default="")
    professional.add_argument("--structure-id", default="")
    _add_days(professional)
    professional.set_defaults(handler=run_issue_professional)

    revoke = certs_sub.add_parser("revoke", help="revoke a certificate and rewrite the CRL")
    revoke.add_argument("serial", help="serial in hexadecimal, as `mss certs list` shows it")
    revoke.set_defaults(handler=run_revoke)

    listing = certs_sub.add_parser("list", help="issued certificates and their status")
    listing.set_defaults(handler=run_list)
