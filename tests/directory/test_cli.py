"""The directory's `mss` sub-commands, end to end through `mss.cli.main`."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from mss.cli import main
from mss.directory.synthetic_extract import write_synthetic_extract

from .conftest import INS_PATIENT, RPPS_ALICE, RPPS_BOB

TRUST_LIST = Path("/work/shared/samples/listeblanchemssante.xml")


@pytest.fixture
def mss(make_settings, tmp_path, capsys, monkeypatch):
    """Run `mss --config C --data D ARGS...`; returns (exit code, stdout, stderr)."""
    settings = make_settings()
    config = tmp_path / "mss.toml"
    url = settings.database.url
    config.write_text(f'[database]\nurl = "{url}"\n' if url else "", encoding="utf-8")

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--config", str(config), "--data", str(settings.data_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run.settings = settings  # type: ignore[attr-defined]
    return run


def test_mailboxes_members_and_passwords(mss) -> None:
    assert mss("mailbox", "add", "--kind", "PER", "--address", "alice@mss.localhost",
               "--name", "Dr Alice Martin", "--rpps", RPPS_ALICE, "--first-name", "Alice",
               "--last-name", "Martin", "--password-stdin",
               stdin="a long enough password\n")[0] == 0
    assert mss("mailbox", "add", "--kind", "PER", "--address", "bob@mss.localhost",
               "--name", "Bob", "--rpps", RPPS_BOB)[0] == 0
    assert mss("mailbox", "add", "--kind", "ORG", "--address", "cardio@mss.localhost",
               "--name", "Cardiologie")[0] == 0
    assert mss("mailbox", "add", "--kind", "APP", "--address", "noreply@mss.localhost",
               "--name", "Labo", "--certificate-dn", "CN=app,O=CHU,C=FR",
               "--responsible", "cardio@mss.localhost")[0] == 0
    code, out, _ = mss("org", "add-member", "cardio@mss.localhost", "alice@mss.localhost",
                       "--rights", "read,send_as")
    assert code == 0 and "[read,send_as]" in out
    code, out, _ = mss("mailbox", "show", "cardio@mss.localhost")
    assert f"member: {RPPS_ALICE} Alice Martin [read,send_as]" in out
    code, out, _ = mss("mailbox", "show", "noreply@mss.localhost")
    assert "responsible: cardio@mss.localhost" in out
    assert mss("org", "remove-member", "cardio@mss.localhost", RPPS_ALICE)[0] == 0
    assert mss("org", "remove-member", "cardio@mss.localhost", RPPS_ALICE)[0] == 1
    assert mss("password", "set", "bob@mss.localhost", stdin="another long password\n")[0] == 0
    code, _, err = mss("password", "set", "bob@mss.localhost", stdin="short\n")
    assert code == 1 and "12 characters" in err
    code, out, _ = mss("mailbox", "list")
    assert out.splitlines() == [
        "PER alice@mss.localhost Dr Alice Martin", "PER bob@mss.localhost Bob",
        "ORG cardio@mss.localhost Cardiologie", "APP noreply@mss.localhost Labo",
    ]
    assert mss("mailbox", "disable", "bob@mss.localhost")[1].startswith("disabled")


def test_user_errors_are_one_line(mss) -> None:
    code, _, err = mss("mailbox", "add", "--kind", "PER", "--address", "x@mss.localhost",
                       "--name", "X", "--rpps", "10000000008")
    assert code == 1 and err.startswith("mss: ") and "RPPS" in err
    code, _, err = mss("mailbox", "show", "nobody@mss.localhost")
    assert code == 1 and "no such mailbox" in err


def test_patients(mss) -> None:
    code, out, _ = mss("patient", "add", "--ins", INS_PATIENT, "--first-name", "Marie",
                       "--last-name", "Curie", "--birth-date", "1979-03-05",
                       "--email", "marie@example.org")
    assert code == 0 and f"{INS_PATIENT}@patient.mss.localhost" in out
    code, out, _ = mss("patient", "set-state", INS_PATIENT, "opposed")
    assert out.strip() == f"patient {INS_PATIENT}: active -> opposed"
    code, _, err = mss("patient", "add", "--ins", "279035121518988", "--first-name", "M",
                       "--last-name", "C", "--birth-date", "1979-03-05", "--email", "m@x.fr")
    assert code == 1 and "key" in err


def test_dispensation_is_recorded_for_a_pharmacy_only(mss) -> None:
    mss("patient", "add", "--ins", INS_PATIENT, "--first-name", "Marie", "--last-name",
        "Curie", "--birth-date", "1979-03-05", "--email", "marie@example.org")
    mss("mailbox", "add", "--kind", "ORG", "--address", "officine@mss.localhost",
        "--name", "Pharmacie")
    code, _, err = mss("patient", "dispensation", INS_PATIENT, "--pharmacy",
                       "officine@mss.localhost", "--date", "2026-11-30")
    assert code == 1 and err.count("\n") == 1 and "not a pharmacy" in err
    mss("mailbox", "add", "--kind", "PER", "--address", "bob@mss.localhost", "--name", "Bob",
        "--rpps", RPPS_BOB, "--profession", "21")
    assert mss("org", "add-member", "officine@mss.localhost", RPPS_BOB)[0] == 0
    code, out, _ = mss("patient", "dispensation", INS_PATIENT, "--pharmacy",
                       "officine@mss.localhost", "--date", "2026-11-30")
    assert code == 0 and out.startswith("dispensation recorded")
    code, out, _ = mss("patient", "dispensation", INS_PATIENT, "--pharmacy",
                       "officine@mss.localhost", "--date", "2026-11-30")
    assert code == 0 and out.startswith("dispensation already recorded")
    code, _, err = mss("patient", "dispensation", INS_PATIENT, "--pharmacy",
                       "officine@mss.localhost", "--date", "30/11/2026")
    assert code == 1 and "YYYY-MM-DD" in err


def test_trust_list_and_operators(mss) -> None:
    digest = hashlib.sha256(TRUST_LIST.read_bytes()).hexdigest()
    code, _, err = mss("trust", "import", str(TRUST_LIST), "--sha256", "0" * 64)
    assert code == 1 and "checksum" in err
    code, out, _ = mss("trust", "import", str(TRUST_LIST), "--sha256", digest)
    assert code == 0 and "6554 entries, 5002 domains" in out
    assert mss("operator", "set-endpoint", "zenidoc.mssante.fr", "mx.adista.fr:25")[0] == 0
    assert mss("operator", "add-dkim-key", "zenidoc.mssante.fr", "s1",
               "v=DKIM1; k=rsa; p=MIIBIjAN")[0] == 0
    code, out, _ = mss("trust", "show", "zenidoc.mssante.fr")
    assert code == 0
    assert out.count("operator DN: ") == 4
    assert "endpoint: mx.adista.fr:25" in out and "dkim: s1 v=DKIM1; k=rsa; p=MIIBIjAN" in out
    assert mss("trust", "show", "gmail.com")[0] == 1
    assert mss("operator", "add-dkim-key", "a.fr", "s1", "v=DKIM1; p=")[0] == 1


def test_directory_import_and_search(mss, tmp_path) -> None:
    extract = write_synthetic_extract(tmp_path / "extract.csv", 50,
                                      extra_lines=("PER|broken",))
    code, out, _ = mss("directory", "import", str(extract))
    assert code == 0
    assert out.splitlines() == [
        "encoding: UTF-8",
        "first refused line 52: wrong column count: 2 instead of 31",
        "refused 1 line(s): wrong column count (line 52)",
        "read 51, created 50, updated 0, unchanged 0, removed 0, duplicates 0, rejected 1"]
    code, out, _ = mss("directory", "search", "--kind", "ORG", "--limit", "3")
    assert code == 0 and len(out.splitlines()) == 3
    assert all(line.startswith("ORG ") for line in out.splitlines())


def test_directory_import_of_a_latin_1_file(mss, tmp_path) -> None:
    extract = write_synthetic_extract(tmp_path / "extract.csv", 30)
    legacy = tmp_path / "latin1.csv"
    legacy.write_bytes(extract.read_text(encoding="utf-8").encode("latin-1"))
    code, out, err = mss("directory", "import", str(legacy))
    assert code == 0, err
    assert out.splitlines()[0].startswith("encoding: Windows-1252 (not UTF-8 from line ")
    code, _, err = mss("directory", "import", str(tmp_path))
    assert code == 1 and err.count("\n") == 1


def test_trust_import_refuses_an_older_list_unless_forced(mss, tmp_path) -> None:
    sample = TRUST_LIST.read_bytes()
    newer = tmp_path / "newer.xml"
    newer.write_bytes(sample.replace(b"<DateDeGeneration>2025-03-13T14:54:10Z",
                                     b"<DateDeGeneration>2025-04-01T08:00:00Z", 1))
    assert mss("trust", "import", str(newer))[0] == 0
    code, _, err = mss("trust", "import", str(TRUST_LIST))
    assert code == 1 and err.count("\n") == 1
    assert "before the one in force (2025-04-01T08:00:00Z)" in err
    code, out, err = mss("trust", "show", "zenidoc.mssante.fr")
    assert "list generated 2025-04-01T08:00:00Z" in out
    code, out, err = mss("trust", "import", str(TRUST_LIST), "--force")
    assert code == 0 and "warning: installed a list generated 2025-03-13T14:54:10Z" in err
    code, out, err = mss("trust", "show", "zenidoc.mssante.fr")
    assert "list generated 2025-03-13T14:54:10Z" in out
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(sample[: sample.index(b"<DNCertificatOperateur>", 5000) + 30])
    code, _, err = mss("trust", "import", str(truncated), "--force")
    assert code == 1 and "malformed trust list inside an entry" in err


def test_mailbox_add_stays_in_the_operator_domain(mss) -> None:
    for kind in ("PER", "ORG", "APP"):
        code, _, err = mss("mailbox", "add", "--kind", kind, "--rpps", RPPS_BOB, "--address",
                           "x@patient.mss.localhost", "--name", "X")
        assert code == 1 and "is the patient domain" in err and err.count("\n") == 1
    code, _, err = mss("mailbox", "add", "--kind", "ORG", "--address", "x@mss.localhost.fr",
                       "--name", "X")
    assert code == 1 and "not this operator's domain (mss.localhost" in err
    code, out, _ = mss("mailbox", "list")
    assert code == 0 and "x@" not in out


def test_bind_and_unbind_an_application_certificate(mss, make_settings) -> None:
    import asyncio

    from mss.directory.certificate_bindings import principal_for_certificate
    from mss.store.store import Store

    dn = "CN=labo-app,OU=123456789,O=Labo,C=FR"
    assert mss("mailbox", "add", "--kind", "APP", "--address", "labo@mss.localhost",
               "--name", "Labo")[0] == 0
    code, out, err = mss("mailbox", "bind-certificate", "labo@mss.localhost", "--dn", dn)
    assert code == 0, err
    code, out, _ = mss("mailbox", "show", "labo@mss.localhost")
    assert "certificate: dn=" in out and "CN=labo-app" in out

    async def acting_as() -> str | None:
        store = await Store.open(mss.settings)
        try:
            found = await principal_for_certificate(store, subject_dn=dn)
            return found.mailbox if found else None
        finally:
            await store.close()

    assert asyncio.run(acting_as()) == "labo@mss.localhost"
    code, _, err = mss("mailbox", "bind-certificate", "labo@mss.localhost",
                       "--dn", "CN=other,O=Labo,C=FR")
    assert code == 1 and "unbind it first" in err
    assert mss("mailbox", "add", "--kind", "ORG", "--address", "org@mss.localhost",
               "--name", "Org")[0] == 0
    code, _, err = mss("mailbox", "bind-certificate", "org@mss.localhost", "--dn", dn)
    assert code == 1 and "only APP mailboxes" in err
    code, out, _ = mss("mailbox", "unbind-certificate", "labo@mss.localhost")
    assert code == 0 and "unbound" in out
    assert asyncio.run(acting_as()) is None
    code, out, _ = mss("mailbox", "show", "labo@mss.localhost")
    assert "certificate:" not in out
