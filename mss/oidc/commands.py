"""`mss oidc dev-provider`: the dev OpenID provider for the demo (Pro Santé Connect in
miniature), serving the demo professionals until stopped."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from mss.cli import settings_from_args
from mss.clock import SystemClock
from mss.demo import DemoWorld
from mss.oidc.dev_provider import DevProfessional, DevProvider, running_dev_provider


def add_commands(sub: Any) -> None:
    oidc = sub.add_parser("oidc", help="OpenID Connect sign-in").add_subparsers(
        dest="oidc_command")
    p = oidc.add_parser("dev-provider", help="run the dev provider for the demo")
    p.add_argument("--port", type=int, default=10090)
    p.add_argument("--webmail-url", default="", help="default: http://localhost:<http port>")
    p.set_defaults(handler=cmd_dev_provider, needs_data=False)


def cmd_dev_provider(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    world = DemoWorld(settings.server.domain, settings.server.patient_domain)
    webmail = args.webmail_url or f"http://localhost:{settings.listeners.http.port}"
    provider = DevProvider(
        SystemClock(),
        [DevProfessional(world.alice_rpps, "Alice", "MARTIN"),
         DevProfessional(world.bruno_rpps, "Bruno", "PETIT")],
        redirect_uris=[f"{webmail.rstrip('/')}/login/oidc/callback"],
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with running_dev_provider(provider, port=args.port, public_host="localhost"):
            print(f"dev OpenID provider at {provider.issuer} (professionals: "
                  f"{world.alice_rpps} Alice MARTIN, {world.bruno_rpps} Bruno PETIT)")
            print("add to the settings of `mss serve`:")
            print(f'[oidc.providers.dev]\nissuer = "{provider.issuer}"\n'
                  f'audience = "{provider.audience}"\nclient_id = "{provider.client_id}"',
                  flush=True)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
