"""The `mss` command. Each package contributes its sub-commands through `add_commands`.

User errors (bad settings, unreadable files, faults found by `verify`) end with one
clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mss.config import ConfigError, Settings, load_settings

# Modules that define `add_commands(subparsers)`.
COMMAND_MODULES = (
    "mss.commands",
    "mss.certs.commands",
    "mss.directory.commands",
    "mss.smtp.commands",
    "mss.vault.commands",
    "mss.webmail.commands",
    "mss.bench_command",
    "mss.oidc.commands",
)

Handler = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data", None):
        overrides["data_dir"] = str(args.data)
    return load_settings(getattr(args, "config", None), overrides=overrides)


def package_version() -> str:
    """The installed distribution's version (pyproject's), as `mss --version` prints it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mss")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mss", description="MSS health-messaging operator")
    parser.add_argument("--config", type=Path, help="settings file (TOML)")
    parser.add_argument("--data", type=Path, help="data folder ($MSS_DATA_DIR, default ./mss-data)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"mss {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:  # imported here: each of them imports this module
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"mss: config: {problem}", file=sys.stderr)
        return 1
    except UserError as exc:
        print(f"mss: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
