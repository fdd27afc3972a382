"""`mss api token create ADDRESS` / `mss api token revoke ADDRESS`: bearer tokens of APP
mailboxes for the HTTP API (the clear token is printed once and never stored)."""

from __future__ import annotations

import argparse
from typing import Any

from mss.cli import UserError, settings_from_args
from mss.commands import run_store_task
from mss.directory.api_tokens import create_api_token, revoke_api_tokens
from mss.directory.errors import DirectoryError
from mss.store.store import Store


def add_commands(sub: Any) -> None:
    api = sub.add_parser("api", help="HTTP API").add_subparsers(dest="api_command")
    token = api.add_parser("token", help="bearer tokens of APP mailboxes").add_subparsers(
        dest="token_command")
    p = token.add_parser("create", help="make a token for an APP mailbox (printed once)")
    p.add_argument("address")
    p.add_argument("--label", default="")
    p.set_defaults(handler=cmd_token_create)
    p = token.add_parser("revoke", help="revoke every token of an APP mailbox")
    p.add_argument("address")
    p.set_defaults(handler=cmd_token_revoke)


async def _with_store(args: argparse.Namespace, work: Any) -> Any:
    store = await Store.open(settings_from_args(args))
    try:
        return await work(store)
    finally:
        await store.close()


def cmd_token_create(args: argparse.Namespace) -> int:
    try:
        token = run_store_task(_with_store(
            args, lambda store: create_api_token(store, args.address, args.label)))
    except DirectoryError as exc:
        raise UserError(str(exc)) from None
    print(token)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    try:
        count = run_store_task(_with_store(
            args, lambda store: revoke_api_tokens(store, args.address)))
    except DirectoryError as exc:
        raise UserError(str(exc)) from None
    print(f"{count} token(s) revoked")
    return 0
