"""Rules decided at MAIL FROM: who may hand us mail (T1) and as whom (T2), docs/architecture.md
§4."""

from __future__ import annotations

from mss.identity import PrincipalKind
from mss.policy.addresses import canonical_address, domain_of
from mss.policy.codes import Cause
from mss.policy.facts import ActingRights, PeerCertificate, TrustList
from mss.policy.refusals import accepted_at_mail, refusal
from mss.policy.verdict import Verdict


def decide_peer(peer: PeerCertificate, mail_from: str, trust_list: TrustList) -> Verdict:
    """MSS policy T1: an inbound operator must present a valid client certificate chained
    to the trusted CA whose subject DN is listed for the MAIL FROM domain.

    No certificate, or one not trusted: a temporary `421 4.7.1` (the peer queues); a
    trusted DN not listed for the domain: `550 5.7.1`. The null reverse-path (`<>`,
    bounces) has no domain: the DN must then be listed for some domain of the trust
    list (MSS choice).
    """
    if peer.subject_dn is None:
        return refusal(Cause.PEER_WITHOUT_CERTIFICATE)
    if not peer.chain_valid:
        return refusal(Cause.PEER_CERTIFICATE_NOT_TRUSTED)
    domain = domain_of(mail_from)
    listed = (
        trust_list.lists(domain, peer.subject_dn)
        if domain
        else trust_list.lists_anywhere(peer.subject_dn)
    )
    if not listed:
        return refusal(Cause.PEER_NOT_LISTED)
    return accepted_at_mail()


def decide_sender(rights: ActingRights, mail_from: str) -> Verdict:
    """MSS policy T2: a submitted MAIL FROM must be a mailbox the principal may send as
    (own mailbox, or an ORG mailbox where they hold the send-as right). Only MSS itself
    sends with the null reverse-path (DSN, MDN)."""
    if not canonical_address(mail_from):
        if rights.principal.kind is PrincipalKind.SYSTEM:
            return accepted_at_mail()
        return refusal(Cause.SENDER_NOT_ALLOWED)
    if rights.principal.kind is PrincipalKind.PEER_OPERATOR:
        return refusal(Cause.SENDER_NOT_ALLOWED)
    if not rights.may_send_as(mail_from):
        return refusal(Cause.SENDER_NOT_ALLOWED)
    return accepted_at_mail()
