"""Send-as rights, partial acceptance, remote recipients queued, sizes."""

from __future__ import annotations

from mss.identity import Principal, PrincipalKind
from mss.pipeline.outbound_queue import queue_rows
from mss.policy import Channel, Rule


async def test_org_member_with_send_as_sends_as_the_org(harness) -> None:
    w = harness.world
    alice_on_org = harness.professional(w.alice_rpps, w.cardiology)
    assert (await harness.pipeline.check_sender(alice_on_org, w.cardiology)).accepted
    result = await harness.send(alice_on_org, w.cardiology, [w.jeanne], subject="RDV cardio")
    assert result.results[0].accepted
    assert await harness.inbox_subjects(w.cardiology, "Sent") == ["RDV cardio"]
    reply = await harness.send(harness.patient(w.jeanne_ins, w.jeanne), w.jeanne,
                               [w.cardiology])
    assert reply.results[0].accepted


async def test_member_without_send_as_is_refused_t2(harness) -> None:
    w = harness.world
    bruno_on_org = harness.professional(w.bruno_rpps, w.cardiology)
    verdict = await harness.pipeline.check_sender(bruno_on_org, w.cardiology)
    assert verdict.rule is Rule.T2 and verdict.code == 553
    alice = harness.professional(w.alice_rpps, w.alice)
    assert (await harness.pipeline.check_sender(alice, w.bruno)).rule is Rule.T2


async def test_partial_acceptance_delivers_the_good_recipients(harness) -> None:
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    unknown = f"nobody@{w.domain}"
    result = await harness.send(alice, w.alice, [w.bruno, unknown])
    by_address = {r.address: r.verdict for r in result.results}
    assert by_address[w.bruno].accepted
    assert by_address[unknown].rule is Rule.R1 and by_address[unknown].enhanced == "5.1.1"
    assert await harness.inbox_subjects(w.bruno) == ["Suivi"]


async def test_domain_outside_the_trust_space_is_refused(harness) -> None:
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    result = await harness.send(alice, w.alice, ["someone@gmail.com"])
    assert result.results[0].verdict.rule is Rule.T3


async def test_trusted_remote_recipient_is_queued_durably(harness) -> None:
    from mss.directory.trust_store import import_trust_list

    w = harness.world
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante '
        b'xmlns="https://listeblanche.mssante.fr/schema"><DateDeGeneration>2026-01-01T00:00:00Z'
        b"</DateDeGeneration><ListeDomaines><Domaine><Nom>autre.mssante.fr</Nom>"
        b"<Description>Autre</Description><DNCertificatOperateur>CN=mx.autre.fr,OU=1,O=Autre,"
        b"ST=Paris (75),C=FR</DNCertificatOperateur><ResponsableContact>x</ResponsableContact>"
        b"<SupportContact>x</SupportContact><DateMAJ>2026-01-01T00:00:00Z</DateMAJ></Domaine>"
        b"</ListeDomaines></ListeBlancheMSSante>"
    )
    await import_trust_list(harness.store, xml)
    alice = harness.professional(w.alice_rpps, w.alice)
    result = await harness.send(alice, w.alice, ["dr.x@autre.mssante.fr", w.bruno])
    assert all(r.accepted for r in result.results)
    assert [r.queued for r in result.results] == [True, False]
    rows = await queue_rows(harness.store)
    assert [(r.recipient, r.status) for r in rows] == [("dr.x@autre.mssante.fr", "queued")]


async def test_message_over_patient_limit_is_refused_s1(harness, make_settings) -> None:
    w = harness.world
    harness.pipeline.facts.limits = harness.pipeline.facts.limits.__class__(
        message_bytes=10_000_000, patient_message_bytes=2000
    )
    harness.pipeline.facts._operator = None
    alice = harness.professional(w.alice_rpps, w.alice)
    result = await harness.send(alice, w.alice, [w.jeanne, w.bruno], body="x" * 3000)
    by_address = {r.address: r.verdict for r in result.results}
    assert by_address[w.jeanne].rule is Rule.S1 and by_address[w.jeanne].code == 552
    assert by_address[w.bruno].accepted


async def test_the_pipeline_itself_refuses_a_sender_the_principal_may_not_use(harness) -> None:
    """T2 inside accept: an adapter that forgot to ask at MAIL FROM still cannot spoof."""
    w = harness.world
    bruno = harness.professional(w.bruno_rpps, w.bruno)
    result = await harness.send(bruno, w.alice, [w.jeanne], subject="Usurpation")
    verdict = result.results[0].verdict
    assert verdict.rule is Rule.T2 and verdict.code == 553
    assert await harness.inbox_subjects(w.jeanne) == []


async def test_inbound_mail_without_a_valid_peer_certificate_is_refused_t1(harness) -> None:
    w = harness.world
    peer = Principal(PrincipalKind.PEER_OPERATOR, "CN=mx.autre.fr", "")
    result = await harness.send(peer, "dr.x@autre.mssante.fr", [w.bruno],
                                channel=Channel.INBOUND)
    assert result.results[0].verdict.rule is Rule.T1
    assert await harness.inbox_subjects(w.bruno) == []
