"""One dev PKI per test session (key generation is the slow part), and the handshake runner."""

from __future__ import annotations

import datetime as dt

import pytest
from handshake_runner import Handshake, run_handshake
from operator_pki import HOST_A, HOST_B, SessionPki

from mss.certs import create_foreign_pki, ensure_server_pki
from mss.config import ServerSettings, Settings


@pytest.fixture(scope="session")
def session_pki(tmp_path_factory: pytest.TempPathFactory) -> SessionPki:
    data = tmp_path_factory.mktemp("operator-a")
    settings = Settings(data_dir=data, server=ServerSettings(hostname=HOST_A))
    pki = ensure_server_pki(settings, organisation="GIP OPERATEUR A", structure_id="1750000001")
    foreign = create_foreign_pki(tmp_path_factory.mktemp("foreign") / "pki")
    now = dt.datetime.now(dt.UTC)
    revoked = pki.issue_application("Revoked App", "1750000003", "CH REVOQUE")
    pki.revoke(revoked.serial)
    return SessionPki(
        settings=settings,
        pki=pki,
        foreign=foreign,
        operator_b=pki.issue_operator(HOST_B, "1750000002", "GIP OPERATEUR B", "Rhône (69)"),
        application=pki.issue_application("Logiciel DPI", "1750000003", "CH EXEMPLE"),
        professional=pki.issue_professional("10001234567", "Jeanne Martin"),
        expired=pki.issue_application(
            "Expired App",
            "1750000003",
            "CH EXEMPLE",
            days=1,
            not_before=now - dt.timedelta(days=10),
        ),
        not_yet_valid=pki.issue_application(
            "Future App",
            "1750000003",
            "CH EXEMPLE",
            not_before=now + dt.timedelta(days=10),
        ),
        revoked=revoked,
        foreign_operator=foreign.issue_operator(
            "mss.foreign.test", "999", "FOREIGN OPERATOR", "Berlin"
        ),
    )


@pytest.fixture
def handshake() -> Handshake:
    return run_handshake
