"""DKIM keys: dkimpy signs with them and verifies against the TXT record we produce."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import dkim
import pytest

from mss.certs import DkimAlgorithm, ensure_dkim_key, generate_dkim_key, load_dkim_key
from mss.certs.dkim_keys import signing_key_for_dkimpy

DOMAIN = b"mss-a.test"
MESSAGE = (
    b"From: Dr A <a@mss-a.test>\r\n"
    b"To: Dr B <b@mss-b.test>\r\n"
    b"Subject: essai\r\n"
    b"Message-ID: <1@mss-a.test>\r\n"
    b"\r\n"
    b"Bonjour.\r\n"
)


def _sign(folder: Path, algorithm: DkimAlgorithm) -> tuple[bytes, str]:
    key = generate_dkim_key(folder, "mss2026", algorithm)
    signature = dkim.sign(
        MESSAGE,
        key.selector.encode(),
        DOMAIN,
        signing_key_for_dkimpy(key),
        signature_algorithm=algorithm.signature_algorithm,
        include_headers=[b"From", b"To", b"Subject", b"Message-ID"],
    )
    return signature, key.txt_record


def _verify(signed: bytes, txt_record: str) -> bool:
    def dns_lookup(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mss2026._domainkey.mss-a.test."
        return txt_record.encode()

    return bool(dkim.verify(signed, dnsfunc=dns_lookup))


@pytest.mark.parametrize("algorithm", list(DkimAlgorithm))
def test_dkimpy_verifies_a_message_signed_with_our_key(
    tmp_path: Path, algorithm: DkimAlgorithm
) -> None:
    signature, txt = _sign(tmp_path, algorithm)
    assert f"k={algorithm.value};" in txt
    assert _verify(signature + MESSAGE, txt)


@pytest.mark.parametrize("algorithm", list(DkimAlgorithm))
def test_a_changed_body_fails_verification(tmp_path: Path, algorithm: DkimAlgorithm) -> None:
    signature, txt = _sign(tmp_path, algorithm)
    assert not _verify(signature + MESSAGE.replace(b"Bonjour", b"Bonsoir"), txt)


def test_another_key_fails_verification(tmp_path: Path) -> None:
    signature, _ = _sign(tmp_path / "one", DkimAlgorithm.ED25519)
    other = generate_dkim_key(tmp_path / "two", "mss2026", DkimAlgorithm.ED25519)
    assert not _verify(signature + MESSAGE, other.txt_record)


def test_ed25519_public_value_is_the_raw_32_byte_key(tmp_path: Path) -> None:
    key = generate_dkim_key(tmp_path, "s1")
    assert key.algorithm is DkimAlgorithm.ED25519
    assert len(base64.b64decode(key.public_value)) == 32
    assert len(base64.b64decode(signing_key_for_dkimpy(key))) == 32


def test_private_key_is_0600_and_txt_record_is_written_beside_it(tmp_path: Path) -> None:
    key = generate_dkim_key(tmp_path, "s1")
    assert stat.S_IMODE(os.stat(key.private_key_path).st_mode) == 0o600
    assert (tmp_path / "s1.dkim.txt").read_text().strip() == key.txt_record
    assert key.record_name("mss-a.test") == "s1._domainkey.mss-a.test"


def test_a_key_is_never_overwritten_and_loads_back(tmp_path: Path) -> None:
    key = generate_dkim_key(tmp_path, "s1", "rsa")
    with pytest.raises(FileExistsError):
        generate_dkim_key(tmp_path, "s1", "rsa")
    assert load_dkim_key(tmp_path, "s1") == key
    assert ensure_dkim_key(tmp_path, "s1", "ed25519") == key


def test_ensure_creates_a_missing_key(tmp_path: Path) -> None:
    key = ensure_dkim_key(tmp_path, "fresh")
    assert key.private_key_path.exists()
    assert load_dkim_key(tmp_path, "fresh").public_value == key.public_value


def test_selector_with_a_path_separator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="selector"):
        generate_dkim_key(tmp_path, "../escape")
