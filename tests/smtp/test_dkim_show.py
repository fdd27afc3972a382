"""`mss dkim show`: the printed TXT records are the keys MSS signs with (a signature made
with each private key file verifies with the record as printed, through dkimpy)."""

from __future__ import annotations

import re

import dkim

from mss.certs.dkim_keys import DkimAlgorithm, ensure_dkim_key, signing_key_for_dkimpy
from mss.cli import main
from mss.smtp.outbound_worker import dkim_folder


def _records(output: str) -> dict[str, bytes]:
    """name -> TXT value, the quoted strings of each zone-file line joined (RFC 1035)."""
    found = {}
    for line in output.splitlines():
        if not line.startswith("#"):
            name = line.split(" ", 1)[0].rstrip(".")
            found[name] = "".join(re.findall(r'"([^"]*)"', line)).encode()
    return found


def test_dkim_show_prints_verifiable_records(make_settings, capsys, tmp_path) -> None:
    settings = make_settings()
    code = main(["--data", str(settings.data_dir), "dkim", "show"])
    assert code == 1 and "no DKIM key yet" in capsys.readouterr().err
    keys = [ensure_dkim_key(dkim_folder(settings), "mss", DkimAlgorithm.ED25519),
            ensure_dkim_key(dkim_folder(settings), "mss-rsa", DkimAlgorithm.RSA)]
    assert main(["dkim", "show", "--data", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    records = _records(out)
    assert set(records) == {"mss._domainkey.mss.localhost", "mss-rsa._domainkey.mss.localhost"}
    assert f"private key file {keys[1].private_key_path}" in out
    assert '" "' in out.splitlines()[-1]  # the RSA record is split in 255-octet strings
    message = b"From: a@mss.localhost\r\nTo: b@x.fr\r\nSubject: t\r\n\r\nbody\r\n"
    for key in keys:
        signed = dkim.sign(message, key.selector.encode(), b"mss.localhost",
                           signing_key_for_dkimpy(key),
                           signature_algorithm=key.algorithm.signature_algorithm,
                           include_headers=[b"from", b"to", b"subject"]) + message
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: records[
            name.decode().rstrip(".")])
