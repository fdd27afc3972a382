"""Core sub-commands: init, serve, db upgrade, verify, backup, config example."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from mss.app import App
from mss.certs import ensure_server_pki
from mss.cli import UserError, settings_from_args
from mss.config import Settings, example_toml, load_settings
from mss.event_log import configure_logging
from mss.pipeline.outbound_queue import queue_depth
from mss.store import schema
from mss.store.backup import BackupError, backup, restore
from mss.store.blobs import BlobError
from mss.store.cluster import NodeStatus, node_statuses
from mss.store.db import create_engine, is_sqlite
from mss.store.keys import MasterKeyError, parse_master_key, write_master_key
from mss.store.store import Store, prepare_data_dir
from mss.store.verify import verify_store

log = logging.getLogger("mss")


def add_commands(sub: Any) -> None:
    p = sub.add_parser("init", help="create the data folder, master key, database and dev PKI")
    p.set_defaults(handler=cmd_init, needs_data=False)

    p = sub.add_parser("serve", help="run every listener in one process")
    p.add_argument("--demo", action="store_true", help="seed demo mailboxes on first start")
    p.set_defaults(handler=cmd_serve, needs_data=False)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command")
    p = db.add_parser("upgrade", help="upgrade the database schema to this version")
    p.set_defaults(handler=cmd_db_upgrade)
    p = db.add_parser("current", help="print the schema revision")
    p.set_defaults(handler=cmd_db_current)

    p = sub.add_parser("verify", help="re-hash every blob, check references and audit chain")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("backup", help="consistent copy of the operator while it runs "
                                      "(database, blobs, PKI, DKIM keys, settings)")
    p.add_argument("dest", type=Path, help="a new or empty folder")
    p.add_argument("--with-key", action="store_true", help="also copy the master key")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser("restore", help="bring a backup back into an empty data folder, "
                                       "verified before use")
    p.add_argument("source", type=Path, help="a folder made by `mss backup`")
    p.add_argument("--key", type=Path, help="the master key file (when not in the backup)")
    p.set_defaults(handler=cmd_restore, needs_data=False)

    node = sub.add_parser("node", help="this node of several sharing one database")
    p = node.add_subparsers(dest="node_command").add_parser(
        "join", help="make a new node's data folder from the database URL and master key")
    p.add_argument("--database-url", required=True,
                   help="the cluster's PostgreSQL URL (postgresql+asyncpg://...)")
    p.add_argument("--master-key-file", type=Path,
                   help="the cluster's master key file (else $MSS_MASTER_KEY, hex)")
    p.set_defaults(handler=cmd_node_join, needs_data=False)

    cluster = sub.add_parser("cluster", help="nodes sharing one database")
    p = cluster.add_subparsers(dest="cluster_command").add_parser(
        "status", help="live nodes and queue depth")
    p.set_defaults(handler=cmd_cluster_status)

    config = sub.add_parser("config", help="settings").add_subparsers(dest="config_command")
    p = config.add_parser("example", help="print a documented settings file")
    p.set_defaults(handler=cmd_config_example, needs_data=False)
    p = config.add_parser("check", help="load the settings and report every problem")
    p.set_defaults(handler=cmd_config_check, needs_data=False)


def run_store_task(coro: Any) -> Any:
    """Run a store coroutine, turning store faults into one-line user errors."""
    try:
        return asyncio.run(coro)
    except (MasterKeyError, BlobError, schema.SchemaError, BackupError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{exc.filename or ''}: {exc.strerror}") from None


def _prepare_pki(settings: Settings) -> list[str]:
    pki = ensure_server_pki(settings)
    return [f"PKI: CA bundle {pki.paths.ca_bundle}"]


def cmd_init(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def run() -> None:
        store = await Store.open(settings, create=True)
        await store.close()

    run_store_task(run())
    for line in _prepare_pki(settings):
        print(line)
    print(f"data folder: {settings.data_dir.resolve()}")
    print(f"database:    {settings.database_url}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    configure_logging(settings.logging.format, verbose=args.verbose)

    async def run() -> None:
        prepare_data_dir(settings)
        app = App(settings)
        lines = await app.start()
        if args.demo:
            demo = importlib.import_module("mss.demo")
            lines.extend(await demo.seed(app))
        print(f"MSS node {app.node_id}: data {settings.data_dir.resolve()}", flush=True)
        for line in lines:
            print("  " + line, flush=True)
        await app.run_until_signalled(lambda: print("ready (Ctrl-C to stop)", flush=True))

    run_store_task(run())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await schema.upgrade(engine)
            return await schema.current_revision(engine)
        finally:
            await engine.dispose()

    print(f"database schema at {run_store_task(run())}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await schema.current_revision(engine)
        finally:
            await engine.dispose()

    print(f"current {run_store_task(run()) or 'empty'}, head {schema.head_revision()}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not settings.master_key_path.exists():
        raise UserError(f"{settings.master_key_path}: master key file is missing")

    async def run() -> Any:
        store = await Store.open(settings)
        try:
            return await verify_store(store)
        finally:
            await store.close()

    report = run_store_task(run())
    print(f"blobs checked: {report.blobs_checked}, folder entries: {report.entries_checked}, "
          f"audit rows: {report.audit_rows}, unreferenced blobs: {report.orphan_blobs}")
    for fault in report.faults:
        print(f"FAULT {fault}")
    print("verify: OK" if report.ok else f"verify: {len(report.faults)} fault(s)")
    return 0 if report.ok else 1


def cmd_backup(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        report = backup(settings, args.dest, with_key=args.with_key,
                        config_file=getattr(args, "config", None))
    except BackupError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"backup: {exc.filename or ''}: {exc.strerror}") from None
    print(f"database: {report.database}")
    print(f"blobs copied: {report.blobs_copied}, other files (PKI, DKIM keys...): "
          f"{report.files_copied}")
    if not report.key_copied:
        print(f"master key NOT copied: keep {settings.master_key_path} safe, apart from "
              "backups; `mss restore` asks for it (--key FILE)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    report = run_store_task(restore(args.source, settings, key_file=args.key))
    print(f"restored into {report.data_dir}: verify OK ({report.blobs_checked} blobs, "
          f"{report.entries_checked} folder entries, {report.audit_rows} audit rows)")
    if report.settings_file is not None:
        print(f"settings of the backed-up node: {report.settings_file} (use with --config)")
    return 0


def cmd_config_example(args: argparse.Namespace) -> int:
    print(example_toml(), end="")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(f"settings OK (data folder {settings.data_dir})")
    return 0


def cmd_node_join(args: argparse.Namespace) -> int:
    """A new node from the database URL and the master key alone (issue 24 §3): its data
    folder gets the key, the PKI and DKIM files sealed in the database, and a settings
    file naming the database, with blobs in the database (no shared folder)."""
    url = str(args.database_url)
    if is_sqlite(url) or not url.startswith("postgresql"):
        raise UserError("node join: several nodes share a PostgreSQL database "
                        "(postgresql+asyncpg://...)")
    if args.master_key_file is not None:
        try:
            key = parse_master_key(Path(args.master_key_file).read_text(encoding="ascii"),
                                   str(args.master_key_file))
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{args.master_key_file}: cannot read the master key "
                            f"({getattr(exc, 'strerror', None) or exc})") from None
        except MasterKeyError as exc:
            raise UserError(str(exc)) from None
    elif os.environ.get("MSS_MASTER_KEY"):
        try:
            key = parse_master_key(os.environ["MSS_MASTER_KEY"], "$MSS_MASTER_KEY")
        except MasterKeyError as exc:
            raise UserError(str(exc)) from None
    else:
        raise UserError("node join: give the master key (--master-key-file, or "
                        "$MSS_MASTER_KEY)")
    base = settings_from_args(args)
    config_path = base.data_dir / NODE_SETTINGS
    if base.master_key_path.exists() or config_path.exists():
        raise UserError(f"{base.data_dir}: already a node's data folder (master key or "
                        f"{NODE_SETTINGS} present)")
    settings = load_settings(overrides={
        "data_dir": str(base.data_dir), "database": {"url": url},
        "store": {"blob_backend": "database"}})

    async def run() -> list[str]:
        store = await Store.open(settings)  # the schema must be this version's
        try:
            return await store.restore_node_files()
        finally:
            await store.close()

    base.data_dir.mkdir(parents=True, exist_ok=True)
    write_master_key(base.master_key_path, key)
    try:
        restored = run_store_task(run())
    except BaseException:
        base.master_key_path.unlink(missing_ok=True)
        raise
    config_path.write_text(
        "# written by `mss node join`: this node shares nothing but the database\n"
        f"[database]\nurl = {json.dumps(url)}\n\n[store]\nblob_backend = \"database\"\n",
        encoding="utf-8")
    print(f"node data folder: {base.data_dir.resolve()}")
    print(f"  master key, {len(restored)} PKI/DKIM file(s) from the database, {config_path}")
    print(f"start it with: mss serve --config {config_path} --data {base.data_dir}")
    return 0


NODE_SETTINGS = "node.toml"


def cmd_cluster_status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def run() -> tuple[list[NodeStatus], Any]:
        store = await Store.open(settings)
        try:
            async with store.reading() as session:
                now = store.clock.now()
                return await node_statuses(session, now), await queue_depth(session, now)
        finally:
            await store.close()

    nodes, depth = run_store_task(run())
    for node in nodes:
        state = "alive" if node.alive else "silent"
        print(f"{node.node_id}\t{state}\t{node.host} pid {node.pid}\tv{node.version}\t"
              f"last seen {node.last_seen.isoformat(timespec='seconds')}")
    if not nodes:
        print("no node has reported")
    age = f", oldest {depth.oldest_age_seconds:.0f} s" if depth.queued else ""
    print(f"queue: {depth.queued} waiting{age}")
    return 0
