"""The DKIM signer reads a replaced key file before the next message (a key brought from
the database by the node-file pass, or replaced by the operator), and keeps the previous
key when the new file does not load."""

from __future__ import annotations

from pathlib import Path

import dkim
from cryptography.hazmat.primitives.asymmetric import ed25519

from mss.certs.dkim_keys import DkimAlgorithm, ensure_dkim_key, public_value
from mss.certs.key_files import private_key_pem, replace_private_file
from mss.smtp.outbound_worker import DkimSigner

DOMAIN = "mss-a.test"
RAW = (f"From: <dr.a@{DOMAIN}>\r\nTo: <x@mss-b.test>\r\nSubject: s\r\n"
       "Message-ID: <k@test>\r\n\r\nBonjour.\r\n").encode()


def verifies(signed: bytes, record: str) -> bool:
    return bool(dkim.verify(signed, dnsfunc=lambda name, timeout=5: record.encode()))


def test_a_replaced_key_file_signs_the_next_message(tmp_path: Path) -> None:
    key = ensure_dkim_key(tmp_path, "mss", DkimAlgorithm.ED25519)
    signer = DkimSigner(DOMAIN, [key])
    assert verifies(signer.sign(RAW), key.txt_record)

    new_key = ed25519.Ed25519PrivateKey.generate()
    replace_private_file(key.private_key_path, private_key_pem(new_key))

    signed = signer.sign(RAW)
    assert verifies(signed, f"v=DKIM1; k=ed25519; p={public_value(new_key)}")
    assert not verifies(signed, key.txt_record)


def test_a_key_file_that_does_not_load_keeps_the_previous_key(tmp_path: Path) -> None:
    key = ensure_dkim_key(tmp_path, "mss", DkimAlgorithm.ED25519)
    signer = DkimSigner(DOMAIN, [key])
    replace_private_file(key.private_key_path, b"-----BEGIN PRIVATE KEY-----\nhalf\n")

    assert verifies(signer.sign(RAW), key.txt_record)
