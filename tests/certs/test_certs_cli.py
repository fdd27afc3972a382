"""`mss certs ...` through mss.cli.main with a temporary data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from mss.certs import DevPki, identify_certificate
from mss.certs.dev_pki import serial_from_text
from mss.cli import main


def _run(data: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--data", str(data), "certs", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _field(output: str, label: str) -> str:
    for line in output.splitlines():
        if line.startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label!r} in {output!r}")


@pytest.fixture(autouse=True)
def _no_mss_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MSS_DATA_DIR", "MSS_SERVER__HOSTNAME"):
        monkeypatch.delenv(name, raising=False)


def test_init_creates_the_pki_prints_paths_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(tmp_path, capsys, "init")
    assert code == 0
    bundle = Path(_field(out, "CA bundle"))
    assert bundle == tmp_path / "pki" / "ca-bundle.pem"
    assert bundle.exists()
    assert Path(_field(out, "server chain")).exists()
    assert Path(_field(out, "server key")).exists()
    serial = _field(out, "server serial")
    code, again, _ = _run(tmp_path, capsys, "init")
    assert code == 0
    assert _field(again, "server serial") == serial


def test_commands_before_init_tell_the_user_to_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(tmp_path, capsys, "list")
    assert code == 1
    assert "mss certs init" in err


def test_issue_each_kind_then_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path, capsys, "init")
    code, out, _ = _run(
        tmp_path, capsys, "issue", "operator", "--host", "mss-b.test",
        "--structure-id", "1750000002", "--org", "GIP B", "--dept", "Rhône (69)", "--days", "30",
    )  # fmt: skip
    assert code == 0
    operator_serial = _field(out, "serial")
    assert _field(out, "subject") == "CN=mss-b.test,OU=1750000002,O=GIP B,ST=Rhône (69),C=FR"
    certificate = x509.load_pem_x509_certificate(Path(_field(out, "certificate")).read_bytes())
    assert (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days == 30

    code, out, _ = _run(
        tmp_path, capsys, "issue", "application", "--name", "DPI",
        "--structure-id", "1750000003", "--org", "CH X",
    )  # fmt: skip
    assert code == 0
    assert _field(out, "kind") == "application"

    code, out, _ = _run(
        tmp_path,
        capsys,
        "issue",
        "professional",
        "--rpps",
        "10001234567",
        "--name",
        "Jeanne Martin",
    )
    assert code == 0
    professional = Path(_field(out, "certificate")).read_bytes()
    assert identify_certificate(professional).rpps == "10001234567"

    code, out, _ = _run(tmp_path, capsys, "list")
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert [row[1] for row in rows] == ["operator", "operator", "application", "professional"]
    assert all(row[2] == "valid" for row in rows)
    assert operator_serial in [row[0] for row in rows]


def test_revoke_marks_the_certificate_and_writes_the_crl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tmp_path, capsys, "init")
    _, out, _ = _run(
        tmp_path,
        capsys,
        "issue",
        "application",
        "--name",
        "Old",
        "--structure-id",
        "1",
        "--org",
        "O",
    )
    serial = _field(out, "serial")
    code, out, _ = _run(tmp_path, capsys, "revoke", serial)
    assert code == 0
    assert "revoked" in out
    crl = DevPki.load(tmp_path / "pki").crl()
    assert crl.get_revoked_certificate_by_serial_number(serial_from_text(serial)) is not None
    _, listing, _ = _run(tmp_path, capsys, "list")
    status = {row.split("\t")[0]: row.split("\t")[2] for row in listing.splitlines()}
    assert status[serial] == "revoked"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "ABCDEF"), "no certificate with serial ABCDEF"),
        (("revoke", "not-hex"), "not a hexadecimal serial"),
        (("issue", "professional", "--rpps", "123", "--name", "X"), "11 digits"),
        (("issue", "application", "--name", "X", "--structure-id", "1", "--org", "O",
          "--days", "0"), "--days must be positive"),
    ],
    ids=["unknown-serial", "bad-serial", "bad-rpps", "bad-days"],
)  # fmt: skip
def test_user_errors_are_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    _run(tmp_path, capsys, "init")
    code, _, err = _run(tmp_path, capsys, *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err
