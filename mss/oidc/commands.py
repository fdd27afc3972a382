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
    p.add_argument("--webmail-url", default="",
                   help="default: http://localhost, 127.0.0.1 and [::1] at the http port")
    p.set_defaults(handler=cmd_dev_provider, needs_data=False)


def cmd_dev_provider(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    world = DemoWorld(settings.server.domain, settings.server.patient_domain)
    port = settings.listeners.http.port
    # the webmail as the README's clients reach it: by name or by loopback address
    webmails = [args.webmail_url] if args.webmail_url else [
        f"http://{host}:{port}" for host in ("localhost", "127.0.0.1", "[::1]")]
    provider = DevProvider(
        SystemClock(),
        [DevProfessional(world.alice_rpps, "Alice", "MARTIN"),
         DevProfessional(world.bruno_rpps, "Bruno", "PETIT")],
        redirect_uris=[f"{url.rstrip('/')}/login/oidc/callback" for url in webmails],
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
