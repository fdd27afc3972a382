"""Nothing shared but the database (issue 24 §3): a second node made by `mss node join`
from the database URL and the master key alone, with its own data folder, reads over
IMAP a message accepted by the first; blobs, PKI and DKIM keys come from the database."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import uuid
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from imapclient import IMAPClient

from mss.demo import DemoWorld
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL")
ROOT = Path(__file__).parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({"PYTHONPATH": str(ROOT), **extra})
    for name in ("MX", "SUBMISSION", "SUBMISSIONS", "IMAP", "IMAPS", "HTTP", "ADMIN"):
        env[f"MSS_LISTENERS__{name}__PORT"] = "0"
    return env


def _serve(args: list[str], env: dict[str, str], *, demo: bool = False
           ) -> tuple[subprocess.Popen[str], dict[str, int]]:
    process = subprocess.Popen([sys.executable, "-m", "mss", *args, "serve",
                                *(["--demo"] if demo else [])],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                               text=True)
    assert process.stdout is not None
    text = ""
    for line in process.stdout:
        text += line
        if line.startswith("ready"):
            break
    ports = {k.lower(): int(v) for k, v in re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", text)}
    assert {"submissions", "imaps"} <= set(ports), text
    return process, ports


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _join(data: Path, url: str, key_file: Path | None,
          **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mss", "--data", str(data), "node", "join",
               "--database-url", url]
    if key_file is not None:
        command += ["--master-key-file", str(key_file)]
    return subprocess.run(command, capture_output=True, text=True, env=_env(**env),
                          timeout=120)


async def test_a_joined_node_with_its_own_folder_reads_what_the_first_accepted(
    make_settings, tmp_path: Path,
) -> None:
    settings = make_settings("first", store={"blob_backend": "database"})
    url = settings.database_url
    first, first_ports = _serve(["--data", str(settings.data_dir)], _env(
        MSS_DATABASE__URL=url, MSS_STORE__BLOB_BACKEND="database",
        MSS_SERVER__NODE_ID="node-a"), demo=True)
    second = None
    try:
        # the first node published its PKI and DKIM keys when it started
        joined_dir = tmp_path / "second"
        done = _join(joined_dir, url, settings.master_key_path)
        assert done.returncode == 0, done.stderr
        assert (joined_dir / "pki" / "ca-bundle.pem").read_bytes() == \
            (settings.pki_dir / "ca-bundle.pem").read_bytes()
        assert sorted(p.name for p in (joined_dir / "dkim").iterdir()) == \
            sorted(p.name for p in (settings.data_dir / "dkim").iterdir())
        config = re.search(r"--config (\S+)", done.stdout)
        assert config is not None, done.stdout
        second, second_ports = _serve(["--config", config.group(1), "--data",
                                       str(joined_dir)], _env(MSS_SERVER__NODE_ID="node-b"))

        # a message over the inline size (64 KB): its blob goes to the blob backend
        world = DemoWorld(settings.server.domain, settings.server.patient_domain)
        body = "".join(f"ligne {i} du compte rendu de consultation\n" for i in range(4000))
        message = EmailMessage()
        message["From"], message["To"] = world.alice, world.bruno
        message["Subject"] = "Par le premier noeud"
        message["Message-ID"] = f"<{uuid.uuid4()}@test>"
        message.set_content(body)
        tls = ssl.create_default_context(cafile=str(settings.pki_dir / "ca-bundle.pem"))
        await aiosmtplib.send(message, hostname="localhost", port=first_ports["submissions"],
                              use_tls=True, tls_context=tls, username=world.alice,
                              password=world.password, timeout=60)

        joined_tls = ssl.create_default_context(cafile=str(joined_dir / "pki" /
                                                           "ca-bundle.pem"))
        with IMAPClient("localhost", port=second_ports["imaps"], ssl=True,
                        ssl_context=joined_tls, timeout=30) as imap:
            imap.login(world.bruno, world.password)
            imap.select_folder("INBOX", readonly=True)
            uids = imap.search(["SUBJECT", "premier"])
            assert len(uids) == 1
            fetched = imap.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
        assert len(fetched) > 64 * 1024
        assert b"ligne 3999 du compte rendu" in fetched.replace(b"\r\n", b"\n")
        # nothing of it in either node's folder: the blob is in the database
        for folder in (settings.data_dir, joined_dir):
            blobs = folder / "blobs"
            assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
    finally:
        if second is not None:
            _stop(second)
        _stop(first)


def test_join_refuses_another_master_key_in_one_line(make_settings, tmp_path: Path) -> None:
    settings = make_settings("first")
    first, _ = _serve(["--data", str(settings.data_dir)], _env(
        MSS_DATABASE__URL=settings.database_url, MSS_SERVER__NODE_ID="node-a"))
    try:
        done = _join(tmp_path / "other", settings.database_url, None,
                     MSS_MASTER_KEY="ab" * 32)
        assert done.returncode != 0
        assert len(done.stderr.strip().splitlines()) == 1
        assert "master key" in done.stderr
        assert not (tmp_path / "other" / "master.key").exists()
        no_key = _join(tmp_path / "none", settings.database_url, None)
        assert no_key.returncode != 0 and len(no_key.stderr.strip().splitlines()) == 1
    finally:
        _stop(first)
