"""Submission driven by an outside client: Debian's swaks (installed by .ci/run)."""

from __future__ import annotations

import asyncio
import shutil

from tests.smtp.conftest import DOMAIN_A, stored_messages


async def test_swaks_submits_with_starttls_and_auth_plain(operators, session_pki) -> None:
    assert shutil.which("swaks"), "swaks is installed by .ci/run (apt-get install swaks)"
    op = await operators("a", DOMAIN_A, session_pki.operator_a)
    world = op.world
    process = await asyncio.create_subprocess_exec(
        "swaks", "--server", "127.0.0.1", "--port", str(op.port("submission")), "--tls",
        "--auth", "PLAIN", "--auth-user", world.alice, "--auth-password", world.password,
        "--from", world.alice, "--to", world.bruno, "--ehlo", "client.example",
        "--header", "Subject: par swaks", "--body", "Bonjour depuis swaks.",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    transcript = out.decode()
    assert process.returncode == 0, transcript
    assert "<~  250 2.0.0 OK: queued as " in transcript
    assert "<~  235 2.7.0 Authentication successful" in transcript
    [received] = await stored_messages(op, world.bruno)
    assert b"Subject: par swaks" in received and b"with ESMTPSA id" in received
