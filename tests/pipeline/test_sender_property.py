"""Property (docs/sender-truth.md): whatever From, Sender and Reply-To fields a sender
writes (forged display names, comments, groups, encoded words, several From), the message
is either refused under T4 or stored with the authenticated principal as its recorded
author, and every address its From and Sender fields show is one that principal may send
as; the webmail files it under that author."""

from __future__ import annotations

from email import message_from_bytes
from email import policy as email_policy
from email.header import Header
from email.utils import getaddresses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mss.identity import Principal
from mss.pipeline.accept import Submission
from mss.policy import Channel, Rule
from mss.read_models.mailbox_views import AUTHOR
from mss.store.tables import StoredMessage

DOMAIN = "mss.localhost"  # tests/conftest.py make_settings
ALICE, BRUNO, CARDIO = (f"dr.alice.martin@{DOMAIN}", f"dr.bruno.petit@{DOMAIN}",
                        f"cardiologie@{DOMAIN}")
PAUL = "179021305512301@patient." + DOMAIN
ADDRESSES = st.sampled_from([ALICE, BRUNO, CARDIO, PAUL, "dr.x@autre-operateur.fr",
                             "x@gmail.com", BRUNO.upper()])
NAMES = st.sampled_from(["Dr Alice MARTIN", "Bruno PETIT", "Service de cardiologie", "",
                         "Jeanne DUPONT", "dr.alice.martin@" + DOMAIN])


@st.composite
def mailbox(draw: st.DrawFn) -> str:
    """One mailbox as a client might write it (RFC 5322 §3.4, RFC 2047)."""
    address, name = draw(ADDRESSES), draw(NAMES)
    form = draw(st.integers(0, 5))
    if form == 0:
        return address
    if form == 1:
        return f"{address} ({draw(NAMES)})"
    if form == 2:
        return f'"{name}" <{address}>'
    if form == 3:
        return f"{Header(name or 'x', 'utf-8').encode()} <{address}>"
    if form == 4:
        return f"{name or 'x'} <{address}> (via {draw(ADDRESSES)})"
    return f"<{address}>"


@st.composite
def author_headers(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 2))):  # none, one or two From fields
        boxes = draw(st.lists(mailbox(), min_size=1, max_size=3))
        value = ", ".join(boxes)
        if draw(st.booleans()) and len(boxes) > 1:
            value = f"Equipe: {value};"  # a group (RFC 5322 §3.4)
        lines.append(f"From: {value}")
    if draw(st.booleans()):
        lines.append(f"Sender: {draw(mailbox())}")
    if draw(st.booleans()):
        lines.append(f"Reply-To: {draw(mailbox())}")
    return "".join(line + "\r\n" for line in lines)


EXAMPLES = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def may_show(principal: Principal, address: str) -> bool:
    """Bruno: his PER only (read right on cardiologie); Alice: her PER and cardiologie."""
    allowed = {BRUNO} if principal.mailbox == BRUNO else {ALICE, CARDIO}
    return address.lower() in allowed


@EXAMPLES
@given(headers=author_headers(), as_alice=st.booleans())
async def test_the_recorded_author_is_the_authenticated_one(harness, headers: str,
                                                            as_alice: bool) -> None:
    world = harness.world
    principal = world.alice_principal if as_alice else world.bruno_principal
    sender = principal.mailbox
    assert sender is not None
    raw = f"{headers}To: <{world.jeanne}>\r\nSubject: Suivi\r\n\r\nBonjour.\r\n".encode()
    result = await harness.pipeline.accept(Submission(
        mail_from=sender, recipients=[world.jeanne], raw=raw, channel=Channel.SUBMISSION,
        principal=principal))
    [outcome] = result.results
    if outcome.verdict.refused:
        assert outcome.verdict.rule is Rule.T4, outcome.verdict.reason
        return
    async with harness.store.reading() as session:
        stored = (await session.execute(
            select(StoredMessage, AUTHOR).order_by(StoredMessage.id.desc()).limit(1))).one()
    row, shown_as = stored
    assert (row.author, row.author_principal, shown_as) == (sender, principal.label(), sender)
    content = await harness.store.mail.contents.read_raw(row.mailbox_id, row.blob_key)
    for reading in (message_from_bytes(content), message_from_bytes(
            content, policy=email_policy.default)):
        froms = [a for _, a in getaddresses([str(v) for v in reading.get_all("From", [])])]
        senders = [a for _, a in getaddresses([str(v) for v in reading.get_all("Sender", [])])]
        assert froms and all(may_show(principal, a) for a in froms + senders), content
        if any(a.lower() != sender for a in froms):  # an ORG, or several authors
            assert [a.lower() for a in senders] == [sender]  # the member says who sent it
