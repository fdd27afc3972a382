"""Reading the From/Sender fields for MSS policy T4: every reading counts, nothing raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mss.identity import OrgRight, Principal, PrincipalKind
from mss.pipeline.author_fields import author_fields
from mss.policy import ActingRights, Cause, decide_author

BRUNO = "dr.bruno.petit@mss.example.fr"
ALICE = "dr.alice.martin@mss.example.fr"
CARDIO = "cardiologie@mss.example.fr"


def head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\nBonjour.\r\n").encode()


@pytest.mark.parametrize(("lines", "froms", "mentioned_alice"), [
    (("From: Bruno PETIT <dr.bruno.petit@mss.example.fr>",), (BRUNO,), False),
    (("From: Dr Alice MARTIN <dr.bruno.petit@mss.example.fr>",), (BRUNO,), False),
    (('From: "dr.alice.martin@mss.example.fr" <dr.bruno.petit@mss.example.fr>',), (BRUNO,), True),
    (("From: dr.bruno.petit@mss.example.fr (dr.alice.martin@mss.example.fr)",), (BRUNO,), True),
    (("From: =?utf-8?q?dr.alice.martin=40mss.example.fr?= <dr.bruno.petit@mss.example.fr>",),
     (BRUNO,), True),
    (("From: Équipe: dr.bruno.petit@mss.example.fr, dr.alice.martin@mss.example.fr;",),
     (BRUNO, ALICE), True),
    (("FROM : <DR.BRUNO.PETIT@MSS.EXAMPLE.FR>",), (BRUNO,), False),
    (("From: Bruno", "  <dr.bruno.petit@mss.example.fr>",), (BRUNO,), False),
])
def test_every_reading_of_the_from_field_is_kept(lines, froms, mentioned_alice) -> None:
    fields = author_fields(head(*lines))
    assert fields.from_fields == 1 and fields.well_formed
    assert set(froms) <= set(fields.from_addresses) | set(fields.mentioned)
    assert (ALICE in fields.from_addresses + fields.mentioned) is mentioned_alice


def test_repeated_unreadable_and_resent_fields() -> None:
    two = author_fields(head(f"From: {BRUNO}", f"From: {ALICE}"))
    assert two.from_fields == 2 and not two.well_formed
    empty_group = author_fields(head("From: undisclosed-recipients:;"))
    assert empty_group.unreadable
    garbage = author_fields(head("From: <<<@@@>>> (((", f"Sender: {BRUNO}"))
    assert garbage.unreadable and garbage.sender_addresses == (BRUNO,)
    resent = author_fields(head(f"From: {BRUNO}", f"Resent-From: {ALICE}"))
    assert ALICE in resent.mentioned and resent.from_addresses == (BRUNO,)
    body_only = author_fields(b"Subject: x\r\n\r\nFrom: " + ALICE.encode() + b"\r\n")
    assert body_only.from_fields == 0 and ALICE not in body_only.mentioned


BRUNO_RIGHTS = ActingRights(Principal(PrincipalKind.PROFESSIONAL, "10001", "Bruno PETIT", BRUNO),
                            frozenset({BRUNO}),
                            {CARDIO: frozenset({OrgRight.READ, OrgRight.SEND_AS})})


def test_completion_adds_from_and_the_members_sender() -> None:
    no_from = decide_author(BRUNO_RIGHTS, author_fields(head("Subject: x")), BRUNO)
    assert no_from.verdict.accepted and (no_from.add_from, no_from.add_sender) == (BRUNO, None)
    org = decide_author(BRUNO_RIGHTS, author_fields(head(f"From: <{CARDIO}>")), CARDIO)
    assert org.verdict.accepted and (org.add_from, org.add_sender) == (None, BRUNO)
    org_no_from = decide_author(BRUNO_RIGHTS, author_fields(head("Subject: x")), CARDIO)
    assert (org_no_from.add_from, org_no_from.add_sender) == (CARDIO, BRUNO)
    several = decide_author(BRUNO_RIGHTS, author_fields(head(f"From: {CARDIO}, {BRUNO}")),
                            BRUNO)
    assert several.verdict.accepted and several.add_sender == BRUNO
    own = decide_author(BRUNO_RIGHTS, author_fields(head(f"From: {BRUNO}", f"Sender: {BRUNO}")),
                        BRUNO)
    assert own.verdict.accepted and (own.add_from, own.add_sender) == (None, None)
    wrong_sender = decide_author(BRUNO_RIGHTS, author_fields(head(f"From: {CARDIO}",
                                                                  f"Sender: {CARDIO}")), CARDIO)
    assert wrong_sender.verdict.cause is Cause.SENDER_NOT_MEMBER


@given(st.binary(max_size=300), st.text(max_size=200))
def test_never_raises(blob: bytes, text: str) -> None:
    for raw in (b"From: " + blob + b"\r\n\r\n", f"From: {text}\r\nSender: {text}\r\n\r\n".encode(
            "utf-8", "surrogatepass")):
        fields = author_fields(raw)
        decide_author(BRUNO_RIGHTS, fields, BRUNO)
