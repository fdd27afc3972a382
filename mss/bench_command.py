"""`mss bench`: the project's benchmarks in one table (bench/run_all.py).

A thin wrapper: the benchmarks live beside the package in the source tree, not in the
installed package, so the command runs bench/run_all.py from there and says so when the
tree is not at hand (an installed wheel).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_ALL = Path(__file__).resolve().parents[1] / "bench" / "run_all.py"


def add_commands(sub: Any) -> None:
    p = sub.add_parser("bench", help="run every benchmark and print one table "
                                     "(figure, value, unit, setting)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="small setting (default): minutes")
    size.add_argument("--large", action="store_true", help="the README's setting")
    p.add_argument("--pg", default="", help="also PostgreSQL (admin URL)")
    p.add_argument("--only", default="", help="comma-separated benchmark names")
    p.set_defaults(handler=cmd_bench, needs_data=False)


def cmd_bench(args: argparse.Namespace) -> int:
    from mss.cli import UserError

    if not RUN_ALL.exists():
        raise UserError(f"bench: {RUN_ALL} not found (the benchmarks ship with the source "
                        "tree, not with the installed package)")
    argv = ["--large" if args.large else "--small"]
    if args.pg:
        argv += ["--pg", args.pg]
    if args.only:
        argv += ["--only", args.only]
    return subprocess.run([sys.executable, str(RUN_ALL), *argv], check=False).returncode
