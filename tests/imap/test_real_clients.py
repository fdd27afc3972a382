"""Debian's mbsync (isync 1.4) and mutt (2.2) against the server, over implicit TLS that
trusts the dev PKI's CA (both are installed by .ci/run).

mbsync: a full two-way sync (flags both ways, a folder created in the Maildir pushed
back with its message). mutt: INBOX listed on its index screen, a message read in the
pager (and so marked \\Seen on the server) and piped to a file. mutt has no non-interactive
reader, so it runs on a pseudo-terminal, driven by `push` (its batch form).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.imap.conftest import HOST, ImapWorld, imapclient_for, put_messages, run, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _message(subject: str, body: str) -> bytes:
    return (f"From: <dr.alice.martin@example>\r\nTo: <dr.bruno.petit@example>\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{unique('m')}@test>\r\n\r\n{body}\r\n").encode()


def _mbsync_config(imap: ImapWorld, maildir: Path, patterns: str) -> str:
    return (
        f"IMAPAccount mss\nHost {HOST}\nPort {imap.tls_port}\nUser {imap.world.bruno}\n"
        f"Pass {imap.world.password}\nSSLType IMAPS\n"
        f"CertificateFile {imap.pki.paths.ca_bundle}\n\n"
        "IMAPStore remote\nAccount mss\n\n"
        f"MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\nSubFolders Verbatim\n\n"
        f"Channel all\nFar :remote:\nNear :local:\nPatterns {patterns}\nCreate Both\n"
        "Sync All\nExpunge None\nSyncState *\n")


def _mbsync(config: Path) -> subprocess.CompletedProcess[str]:
    mbsync = shutil.which("mbsync")
    assert mbsync is not None, "isync (mbsync) is installed by .ci/run"
    return subprocess.run([mbsync, "-c", str(config), "-a"], capture_output=True, text=True,
                          timeout=300)


def _maildir_files(folder: Path) -> dict[bytes, str]:
    """Subject line → Maildir info flags (the letters after ``:2,``)."""
    found = {}
    for sub in ("cur", "new"):
        for path in (folder / sub).iterdir():
            subject = next(line for line in path.read_bytes().split(b"\n")
                           if line.startswith(b"Subject:"))
            found[subject.strip()] = path.name.partition(":2,")[2]
    return found


async def _server_flags(imap: ImapWorld, folder: str) -> dict[bytes, tuple[bytes, ...]]:
    def read() -> dict[bytes, tuple[bytes, ...]]:
        client = imapclient_for(imap, imap.world.bruno)
        try:
            client.select_folder(folder, readonly=True)
            fetched = client.fetch(client.search("ALL"),
                                   ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
            return {data[b"BODY[HEADER.FIELDS (SUBJECT)]"].strip(): data[b"FLAGS"]
                    for data in fetched.values()}
        finally:
            client.logout()

    return await run(read)


async def test_mbsync_syncs_both_ways(imap: ImapWorld, tmp_path: Path) -> None:
    far = unique("sync")
    near = unique("local")
    await put_messages(imap, imap.world.bruno, far, [_message("lu", "Deja lu.")],
                       flags=("\\Seen",))
    await put_messages(imap, imap.world.bruno, far, [_message("nouveau", "Pas encore lu.")])
    maildir = tmp_path / "mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(_mbsync_config(imap, maildir, f"{far} {near}"))

    done = await run(_mbsync, config)
    assert done.returncode == 0, done.stderr + done.stdout
    local = _maildir_files(maildir / far)
    assert local == {b"Subject: lu": "S", b"Subject: nouveau": ""}

    # near side: flag the new message, and a folder made in the Maildir with one message
    for sub in ("cur", "new"):
        for path in (maildir / far / sub).iterdir():
            if b"Subject: nouveau" in path.read_bytes():
                path.rename(maildir / far / "cur" / (path.name.partition(":2,")[0] + ":2,FS"))
    for sub in ("cur", "new", "tmp"):
        (maildir / near / sub).mkdir(parents=True)
    (maildir / near / "new" / "1700000000.1_1.client").write_bytes(
        _message("ecrit ici", "Cree dans le Maildir.").replace(b"\r\n", b"\n"))
    # far side: one more message and a flag set by another client
    await put_messages(imap, imap.world.bruno, far, [_message("arrive", "Arrive ensuite.")])

    def answer_on_server() -> None:
        client = imapclient_for(imap, imap.world.bruno)
        client.select_folder(far)
        uids = client.search(["SUBJECT", "lu", "NOT", "SUBJECT", "nouveau"])
        client.add_flags(uids, [b"\\Answered"])
        client.logout()

    await run(answer_on_server)

    done = await run(_mbsync, config)
    assert done.returncode == 0, done.stderr + done.stdout
    server = await _server_flags(imap, far)
    assert set(server[b"Subject: nouveau"]) == {b"\\Flagged", b"\\Seen"}
    assert set(server[b"Subject: lu"]) == {b"\\Answered", b"\\Seen"}
    assert server[b"Subject: arrive"] == ()
    local = _maildir_files(maildir / far)
    assert local == {b"Subject: lu": "RS", b"Subject: nouveau": "FS", b"Subject: arrive": ""}
    pushed = await _server_flags(imap, near)
    assert list(pushed) == [b"Subject: ecrit ici"]

    def pushed_body() -> bytes:
        client = imapclient_for(imap, imap.world.bruno)
        client.select_folder(near, readonly=True)
        [(_uid, data)] = client.fetch(client.search("ALL"), ["BODY.PEEK[TEXT]"]).items()
        client.logout()
        return bytes(data[b"BODY[TEXT]"])

    assert (await run(pushed_body)).strip() == b"Cree dans le Maildir."

    done = await run(_mbsync, config)  # a third run finds nothing to do
    assert done.returncode == 0, done.stderr + done.stdout
    assert _maildir_files(maildir / far) == local


def _mutt_on_a_terminal(arguments: list[str], home: Path) -> tuple[int, bytes]:
    """mutt on a pseudo-terminal (80x24); returns its exit status and the screen bytes."""
    mutt = shutil.which("mutt")
    assert mutt is not None, "mutt is installed by .ci/run"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    environment = {"HOME": str(home), "TERM": "vt100", "PATH": os.environ["PATH"],
                   "LANG": "C.UTF-8"}
    process = subprocess.Popen([mutt, *arguments], stdin=slave, stdout=slave, stderr=slave,
                               env=environment, cwd=home, start_new_session=True)
    os.close(slave)
    screen = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:  # mutt waits for a key it was not pushed: show what it shows
            process.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    return process.wait(), bytes(screen)


async def test_mutt_lists_and_reads_a_message(imap: ImapWorld, tmp_path: Path) -> None:
    folder = unique("mutt")
    await put_messages(imap, imap.world.bruno, folder,
                       [_message("Compte rendu pour mutt", "Le patient va bien.")])
    muttrc = tmp_path / "muttrc"
    out = tmp_path / "read.txt"
    muttrc.write_text(
        f'set imap_user="{imap.world.bruno}"\nset imap_pass="{imap.world.password}"\n'
        f'set ssl_ca_certificates_file="{imap.pki.paths.ca_bundle}"\n'
        "set ssl_force_tls=yes\nset imap_passive=no\nset wait_key=no\nset quit=yes\n"
        "set move=no\nset mark_old=no\nset header_cache=\nset mail_check=0\n"
        "set pager=builtin\nset pager_stop=yes\nset sleep_time=0\nset beep=no\n"
        f'set folder="{tmp_path}"\nset spoolfile="{tmp_path}"\n'
        'set index_format="LISTED %C %s"\n')
    url = f"imaps://{HOST}:{imap.tls_port}/{folder}"
    status, screen = await run(
        _mutt_on_a_terminal,
        ["-n", "-F", str(muttrc), "-f", url, "-e",
         f'push "<display-message><exit><pipe-message>cat > {out}<enter><sync-mailbox><quit>"'],
        tmp_path)
    assert status == 0, screen.decode("utf-8", "replace")
    assert b"LISTED 1 Compte rendu pour mutt" in screen  # its line on the index
    assert b"Le patient va bien." in out.read_bytes()
    flags = await _server_flags(imap, folder)
    assert flags[b"Subject: Compte rendu pour mutt"] == (b"\\Seen",)
