"""The `mss` command. Each package contributes its sub-commands through `add_commands`.

User errors (bad settings, unreadable files, faults found by `verify`, wrong arguments)
end with one clear line on stderr and a non-zero exit, never a traceback. Only `init` and
`serve` create a data folder: every other command that needs one refuses a folder without
its database or master key (a mistyped `--data` must not make a new operator).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.engine import make_url

from mss.config import ConfigError, Settings, load_settings
from mss.event_log import configure_logging
from mss.store.db import is_sqlite

Handler = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


class CommandParser(argparse.ArgumentParser):
    """Wrong arguments end as one line (`mss queue retry: error: ...`), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def require_data_folder(settings: Settings, needs: str = "store") -> None:
    """Refuse a data folder that `mss init` did not make: missing, no key, no database.

    `needs` is the command's `needs_data` default: "store" (key and database) or
    "folder" (the folder only: `mss certs` works on files beside the store).
    """
    folder = settings.data_dir
    if not folder.is_dir():
        raise UserError(f"{folder}: no such data folder (create one with `mss init`)")
    if needs == "folder":
        return
    if not settings.master_key_path.is_file():
        raise UserError(f"{settings.master_key_path}: master key file is missing "
                        "(restore it from where it is kept, or `mss init` a new folder)")
    url = settings.database_url
    if is_sqlite(url):
        database = Path(make_url(url).database or "")
        if not database.is_file():
            raise UserError(f"{database}: no database in this data folder "
                            "(`mss init` creates one, `mss restore` brings one back)")


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


def _add_folder_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument("--config", type=Path, default=default, help="settings file (TOML)")
    parser.add_argument("--data", type=Path, default=default,
                        help="data folder ($MSS_DATA_DIR, default ./mss-data)")


def _command_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser below `parser`, depth first (`mss db`, then `mss db current`...)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_command_parsers(child)]
    return found


def _finish_commands(parser: argparse.ArgumentParser) -> None:
    """`--data`/`--config` also after the command (`mss serve --demo --data X`), without
    hiding a value given before it; a group without its action is a one-line error."""
    for child in _command_parsers(parser):
        _add_folder_options(child, default=argparse.SUPPRESS)
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                action.required = True
                action.metavar = action.metavar or "ACTION"


def command_groups() -> list[Callable[[Any], None]]:
    """Each package's `add_commands(subparsers)`, imported here (not at the top: each of
    them imports this module for UserError and settings_from_args)."""
    from mss import bench_command, commands, trail_commands
    from mss.certs import commands as certs
    from mss.directory import commands as directory
    from mss.oidc import commands as oidc
    from mss.smtp import commands as smtp
    from mss.vault import commands as vault
    from mss.webmail import commands as webmail

    return [commands.add_commands, certs.add_commands, directory.add_commands,
            smtp.add_commands, vault.add_commands, webmail.add_commands,
            bench_command.add_commands, oidc.add_commands, trail_commands.add_commands]


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="mss", description="MSS health-messaging operator")
    _add_folder_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"mss {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_commands in command_groups():
        add_commands(sub)
    _finish_commands(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose, unless_configured=True)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        needs = getattr(args, "needs_data", "store")
        if needs:
            require_data_folder(settings_from_args(args), needs)
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
    except Exception as exc:  # a bug, still one line for the operator; -v shows the trace
        if args.verbose:
            raise
        print(f"mss: unexpected error {type(exc).__name__}: {exc} "
              "(run with -v for the traceback)", file=sys.stderr)
        return 70  # EX_SOFTWARE (sysexits.h)
