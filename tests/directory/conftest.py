"""Directory test helpers: a cheap argon2id hasher and ready-made identities."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from mss.directory.mailbox_accounts import ProfessionalIdentity

# RPPS numbers whose last digit is the Luhn check digit (computed for these tests).
RPPS_ALICE = "10000000009"
RPPS_BOB = "10101234564"
RPPS_CAROL = "81000012344"
INS_PATIENT = "279035121518989"  # the example of mssante-facts; key 89 is right


@pytest.fixture
def hasher() -> PasswordHasher:
    """argon2id with small costs: same algorithm, fast tests."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)


def identity(rpps: str, last: str, first: str = "", profession: str = "10") -> ProfessionalIdentity:
    return ProfessionalIdentity(ident=rpps, last_name=last, first_name=first,
                                profession_code=profession)
