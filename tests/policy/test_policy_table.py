"""The policy table (DESIGN §4): one row per situation, named by its rule (STYLE §9).

Each row plays a few steps on a fresh `PolicyWorld` (the prelude), then one last step,
and checks the exact reply code, enhanced code, rule and conversation transitions of
that last step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mss.identity import OrgRight, Principal, PrincipalKind
from mss.policy import (
    ActingRights,
    Attachment,
    Cause,
    Channel,
    EnhancedStatus,
    ReplyCode,
    Rule,
    TransitionKind,
)

from .policy_world import (
    ACCUEIL,
    CLOSED_PATIENT,
    DOMAIN,
    DR_DURAND,
    DR_MARTIN,
    INTERNET,
    MIB,
    NOREPLY,
    OPPOSED_PATIENT,
    OTHER_PEER_DN,
    OTHER_PEER_DOMAIN,
    OTHER_PHARMACY,
    PATIENT,
    PATIENT_B,
    PEER_DN,
    PEER_DOMAIN,
    PHARMACY,
    REMOTE_PS,
    RESULTS,
    SECRETARIAT,
    UNKNOWN_PATIENT,
    UNKNOWN_PS,
    EndAction,
    PeerMail,
    PolicyWorld,
    ReopenAction,
    Send,
    Step,
    SubmitMail,
    WriteAuthor,
    owner_rights,
    professional_rights,
)

OPEN, END, SET_CONTACT = TransitionKind.OPEN, TransitionKind.END, TransitionKind.SET_CONTACT
REFUSED_POLICY = (ReplyCode.MAILBOX_UNAVAILABLE, EnhancedStatus.DELIVERY_NOT_AUTHORIZED)
ACCEPTED = (ReplyCode.OK, EnhancedStatus.OK, Rule.OK)
ACCEPTED_AT_MAIL = (ReplyCode.OK, EnhancedStatus.SENDER_OK, Rule.OK)
T1 = (*REFUSED_POLICY, Rule.T1)
T1_LATER = (ReplyCode.SERVICE_NOT_AVAILABLE, EnhancedStatus.DELIVERY_NOT_AUTHORIZED_YET, Rule.T1)
T2 = (ReplyCode.MAILBOX_NAME_NOT_ALLOWED, EnhancedStatus.DELIVERY_NOT_AUTHORIZED, Rule.T2)
T3 = (*REFUSED_POLICY, Rule.T3)
T4 = (*REFUSED_POLICY, Rule.T4)
R1 = (ReplyCode.MAILBOX_UNAVAILABLE, EnhancedStatus.BAD_DESTINATION_MAILBOX, Rule.R1)
R2 = (*REFUSED_POLICY, Rule.R2)
R3 = (ReplyCode.MAILBOX_UNAVAILABLE, EnhancedStatus.MAILBOX_DISABLED, Rule.R3)
P1 = (*REFUSED_POLICY, Rule.P1)
P2 = (*REFUSED_POLICY, Rule.P2)
S1 = (ReplyCode.EXCEEDED_STORAGE, EnhancedStatus.MESSAGE_TOO_BIG, Rule.S1)
S2 = (ReplyCode.TRANSACTION_FAILED, EnhancedStatus.MEDIA_NOT_SUPPORTED, Rule.S2)
S3 = (ReplyCode.TRANSACTION_FAILED, EnhancedStatus.DELIVERY_NOT_AUTHORIZED, Rule.S3)

DR_MARTIN_RIGHTS = professional_rights("10001", own=(DR_MARTIN,))
ORG_MEMBER_SEND_AS = professional_rights(
    "10002", own=(DR_DURAND,), org={SECRETARIAT: frozenset({OrgRight.READ, OrgRight.SEND_AS})}
)
ORG_MEMBER_READ_ONLY = professional_rights(
    "10003", own=(DR_DURAND,), org={SECRETARIAT: frozenset({OrgRight.READ})}
)
SYSTEM_RIGHTS = ActingRights(Principal(PrincipalKind.SYSTEM, "mss"))

PDF = Attachment("compte-rendu.pdf", "application/pdf", b"%PDF-1.7\n")
XDM = Attachment("IHE_XDM.zip", "application/zip", b"PK\x03\x04\x14\x00")
TAR = Attachment("images.bin.dat", "application/octet-stream", b"x" * 257 + b"ustar\x0000")
INVISIBLE = Attachment(
    "IHE_XDM.zip", "application/zip", b"PK\x03\x04", frozenset({"N", "INVISIBLE_PATIENT"})
)


def martin_writes(**message: object) -> Send:
    return Send(DR_MARTIN, PATIENT, **message)  # type: ignore[arg-type]


def patient_writes(recipient: str, **message: object) -> Send:
    return Send(PATIENT, recipient, **message)  # type: ignore[arg-type]


def with_attachment(attachment: Attachment, recipient: str = DR_DURAND) -> Send:
    return Send(DR_MARTIN, recipient, attachments=(PDF, attachment))


@dataclass(frozen=True)
class Row:
    step: Step
    expected: tuple[ReplyCode, EnhancedStatus, Rule]
    prelude: tuple[Step, ...] = ()
    transitions: tuple[TransitionKind, ...] = ()
    cause: Cause | None = None
    dispensations: tuple[tuple[str, float], ...] = ()  # (pharmacy, days ago) for PATIENT
    redirect_to: str | None = None


WROTE = (martin_writes(),)
ENDED_BY_SUBJECT = (martin_writes(subject="[FIN]"),)

ROWS = [
    # T1: inbound operators, at MAIL FROM
    pytest.param(Row(PeerMail(None, REMOTE_PS), T1_LATER, cause=Cause.PEER_WITHOUT_CERTIFICATE),
                 id="T1-no-client-certificate"),
    pytest.param(
        Row(PeerMail(PEER_DN, REMOTE_PS, chain_valid=False), T1_LATER,
            cause=Cause.PEER_CERTIFICATE_NOT_TRUSTED), id="T1-certificate-not-chained"
    ),
    pytest.param(Row(PeerMail(OTHER_PEER_DN, REMOTE_PS), T1), id="T1-dn-listed-for-other-domain"),
    pytest.param(
        Row(PeerMail("CN=rogue,O=Rogue,C=FR", REMOTE_PS), T1, cause=Cause.PEER_NOT_LISTED),
        id="T1-dn-not-listed",
    ),
    pytest.param(
        Row(PeerMail(PEER_DN.replace(",", ", ").lower(), REMOTE_PS), ACCEPTED_AT_MAIL),
        id="OK-T1-listed-dn-other-spacing-and-case",
    ),
    pytest.param(Row(PeerMail(PEER_DN, ""), ACCEPTED_AT_MAIL), id="OK-T1-null-sender-listed-peer"),
    # T2: submission, at MAIL FROM
    pytest.param(Row(SubmitMail(ORG_MEMBER_SEND_AS, DR_MARTIN), T2), id="T2-someone-elses-PER"),
    pytest.param(
        Row(SubmitMail(ORG_MEMBER_READ_ONLY, SECRETARIAT), T2), id="T2-ORG-member-without-send-as"
    ),
    pytest.param(
        Row(SubmitMail(ORG_MEMBER_SEND_AS, SECRETARIAT), ACCEPTED_AT_MAIL),
        id="OK-T2-ORG-member-with-send-as",
    ),
    pytest.param(
        Row(SubmitMail(ORG_MEMBER_SEND_AS, DR_DURAND.upper()), ACCEPTED_AT_MAIL),
        id="OK-T2-own-PER-any-case",
    ),
    pytest.param(Row(SubmitMail(owner_rights(PATIENT), DR_MARTIN), T2), id="T2-patient-as-PS"),
    pytest.param(Row(SubmitMail(DR_MARTIN_RIGHTS, ""), T2), id="T2-null-sender-by-PS"),
    pytest.param(
        Row(SubmitMail(SYSTEM_RIGHTS, ""), ACCEPTED_AT_MAIL), id="OK-T2-null-sender-by-system"
    ),
    # T4: the From/Sender fields name the one who sent the message
    pytest.param(
        Row(WriteAuthor(ORG_MEMBER_READ_ONLY, (DR_MARTIN,), mail_from=DR_DURAND), T4,
            cause=Cause.AUTHOR_NOT_ALLOWED),
        id="T4-From-names-another-PER",
    ),
    pytest.param(
        Row(WriteAuthor(ORG_MEMBER_READ_ONLY, (SECRETARIAT,), mail_from=DR_DURAND), T4),
        id="T4-From-ORG-with-read-right-only",
    ),
    pytest.param(
        Row(WriteAuthor(DR_MARTIN_RIGHTS, (DR_MARTIN,), (DR_DURAND,), mail_from=DR_MARTIN), T4),
        id="T4-Sender-names-another-PER",
    ),
    pytest.param(
        Row(WriteAuthor(ORG_MEMBER_READ_ONLY, (DR_DURAND,), mentioned=(DR_MARTIN,),
                        mail_from=DR_DURAND), T4),
        id="T4-display-name-or-comment-names-another-address",
    ),
    pytest.param(
        Row(WriteAuthor(owner_rights(NOREPLY), (DR_MARTIN,), mail_from=NOREPLY), T4),
        id="T4-APP-certificate-From-a-PER",
    ),
    pytest.param(
        Row(WriteAuthor(owner_rights(PATIENT), (PATIENT_B,), mail_from=PATIENT), T4),
        id="T4-patient-From-another-patient",
    ),
    pytest.param(
        Row(WriteAuthor(DR_MARTIN_RIGHTS, (DR_MARTIN,), from_fields=2, mail_from=DR_MARTIN),
            T4, cause=Cause.AUTHOR_UNREADABLE),
        id="T4-two-From-fields",
    ),
    pytest.param(
        Row(WriteAuthor(DR_MARTIN_RIGHTS, from_fields=1, unreadable=True, mail_from=DR_MARTIN),
            T4, cause=Cause.AUTHOR_UNREADABLE),
        id="T4-From-unreadable",
    ),
    pytest.param(
        Row(WriteAuthor(ORG_MEMBER_SEND_AS, (SECRETARIAT,), (SECRETARIAT,),
                        mail_from=SECRETARIAT), T4, cause=Cause.SENDER_NOT_MEMBER),
        id="T4-ORG-From-with-Sender-not-the-member",
    ),
    pytest.param(
        Row(WriteAuthor(professional_rights("10004", org={SECRETARIAT: frozenset(
            {OrgRight.SEND_AS})}), (SECRETARIAT, ACCUEIL), mail_from=SECRETARIAT), T4),
        id="T4-several-From-one-not-allowed",
    ),
    pytest.param(
        Row(WriteAuthor(DR_MARTIN_RIGHTS, (DR_MARTIN,), mail_from=DR_MARTIN), ACCEPTED_AT_MAIL),
        id="OK-T4-own-From",
    ),
    pytest.param(
        Row(WriteAuthor(ORG_MEMBER_SEND_AS, (SECRETARIAT,), mail_from=SECRETARIAT),
            ACCEPTED_AT_MAIL),
        id="OK-T4-ORG-From-with-send-as",
    ),
    pytest.param(
        Row(WriteAuthor(ORG_MEMBER_SEND_AS, (SECRETARIAT, DR_DURAND), (DR_DURAND,),
                        mail_from=DR_DURAND), ACCEPTED_AT_MAIL),
        id="OK-T4-several-From-with-the-member-as-Sender",
    ),
    pytest.param(
        Row(WriteAuthor(DR_MARTIN_RIGHTS, mail_from=DR_MARTIN), ACCEPTED_AT_MAIL),
        id="OK-T4-no-From-is-added",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, (DR_MARTIN,)), ACCEPTED_AT_MAIL),
        id="OK-T4-MSS-own-messages",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, (f"x@{DOMAIN}",), peer_dn=PEER_DN,
                        mail_from=REMOTE_PS), T4, cause=Cause.PEER_AUTHOR_NOT_LISTED),
        id="T4-peer-From-in-our-domain",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, (f"dr.x@{OTHER_PEER_DOMAIN}",), peer_dn=PEER_DN,
                        mail_from=REMOTE_PS), T4),
        id="T4-peer-From-in-another-operators-domain",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, (f"x@mx.{PEER_DOMAIN}",), peer_dn=PEER_DN,
                        mail_from=REMOTE_PS), T4),
        id="T4-peer-From-unlisted-subdomain-not-a-bounce",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, (REMOTE_PS,), (f"secr@{PEER_DOMAIN}",), peer_dn=PEER_DN,
                        mail_from=REMOTE_PS), ACCEPTED_AT_MAIL),
        id="OK-T4-peer-From-and-Sender-in-its-domain",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, (f"MAILER-DAEMON@mx.{PEER_DOMAIN}",), peer_dn=PEER_DN),
            ACCEPTED_AT_MAIL),
        id="OK-T4-peer-bounce-from-its-MX-host",
    ),
    pytest.param(
        Row(WriteAuthor(SYSTEM_RIGHTS, peer_dn=PEER_DN, mail_from=REMOTE_PS), ACCEPTED_AT_MAIL),
        id="OK-T4-peer-without-From",
    ),
    # T3: trust space
    pytest.param(Row(Send(DR_MARTIN, INTERNET), T3), id="T3-recipient-on-open-internet"),
    pytest.param(
        Row(
            Send(REMOTE_PS, "dr.x@troisieme.fr", channel=Channel.INBOUND),
            T3,
            cause=Cause.RELAY_DENIED,
        ),
        id="T3-inbound-peer-relaying",
    ),
    pytest.param(Row(Send(DR_MARTIN, REMOTE_PS), ACCEPTED), id="OK-T3-trusted-remote-domain"),
    pytest.param(
        Row(Send(REMOTE_PS, DR_MARTIN, channel=Channel.INBOUND), ACCEPTED),
        id="OK-T3-inbound-to-local-PS",
    ),
    # R1-R3: recipient mailbox
    pytest.param(Row(Send(DR_MARTIN, UNKNOWN_PS), R1), id="R1-unknown-local-PS"),
    pytest.param(
        Row(Send(DR_MARTIN, UNKNOWN_PATIENT), R1, cause=Cause.UNKNOWN_PATIENT),
        id="R1-unknown-patient",
    ),
    pytest.param(Row(patient_writes(UNKNOWN_PS), R1), id="R1-patient-to-unknown-local-PS"),
    pytest.param(Row(Send(DR_MARTIN, NOREPLY), R2), id="R2-APP-without-responsible-mailbox"),
    pytest.param(
        Row(Send(DR_MARTIN, RESULTS), ACCEPTED, redirect_to=SECRETARIAT),
        id="OK-R2-APP-with-responsible-mailbox-redirects",
    ),
    pytest.param(Row(patient_writes(NOREPLY), R2), id="R2-patient-to-APP"),
    pytest.param(Row(patient_writes(RESULTS), P2), id="P2-patient-to-APP-with-responsible-mailbox"),
    pytest.param(Row(Send(DR_MARTIN, OPPOSED_PATIENT), R3), id="R3-patient-opposed"),
    pytest.param(
        Row(Send(DR_MARTIN, CLOSED_PATIENT), R3, cause=Cause.PATIENT_CLOSED),
        id="R3-patient-closed",
    ),
    pytest.param(Row(patient_writes(CLOSED_PATIENT), R3), id="R3-before-P1"),
    # P1, P2: patient senders
    pytest.param(Row(patient_writes(PATIENT_B), P1), id="P1-patient-to-other-patient"),
    pytest.param(
        Row(patient_writes(PATIENT_B), P1, prelude=(Send(DR_MARTIN, PATIENT_B),)),
        id="P1-patient-to-patient-even-after-PS-wrote",
    ),
    pytest.param(
        Row(patient_writes(DR_DURAND), P2, cause=Cause.NO_CONVERSATION),
        id="P2-PS-in-directory-never-wrote",
    ),
    pytest.param(Row(patient_writes(REMOTE_PS), P2), id="P2-remote-PS-never-wrote"),
    pytest.param(Row(patient_writes(DR_MARTIN), ACCEPTED, prelude=WROTE), id="OK-P2-PS-wrote"),
    pytest.param(
        Row(patient_writes(DR_DURAND), P2, prelude=WROTE), id="P2-other-PS-than-the-one-who-wrote"
    ),
    pytest.param(
        Row(Send(PATIENT_B, DR_MARTIN), P2, prelude=WROTE), id="P2-PS-wrote-to-another-patient"
    ),
    pytest.param(
        Row(
            patient_writes(REMOTE_PS),
            ACCEPTED,
            prelude=(Send(REMOTE_PS, PATIENT, channel=Channel.INBOUND),),
        ),
        id="OK-P2-remote-PS-wrote",
    ),
    pytest.param(
        Row(patient_writes(PHARMACY), ACCEPTED, dispensations=((PHARMACY, 365),)),
        id="OK-P2-pharmacy-dispensation-365-days",
    ),
    pytest.param(
        Row(patient_writes(PHARMACY), ACCEPTED, dispensations=((PHARMACY, 3),)),
        id="OK-P2-pharmacy-dispensation-recent",
    ),
    pytest.param(
        Row(patient_writes(PHARMACY), P2, dispensations=((PHARMACY, 365 + 1 / 86400),)),
        id="P2-pharmacy-dispensation-365-days-and-a-second",
    ),
    pytest.param(
        Row(patient_writes(PHARMACY), P2, dispensations=((OTHER_PHARMACY, 3),)),
        id="P2-pharmacy-dispensation-elsewhere",
    ),
    pytest.param(
        Row(Send(PATIENT_B, PHARMACY), P2, dispensations=((PHARMACY, 3),)),
        id="P2-pharmacy-dispensation-of-another-patient",
    ),
    pytest.param(
        Row(patient_writes(SECRETARIAT), P2, dispensations=((SECRETARIAT, 3),)),
        id="P2-dispensation-at-non-pharmacy-ORG",
    ),
    # Reply-To: the contact, not the sender, may be written to
    pytest.param(
        Row(
            martin_writes(reply_to=(SECRETARIAT,)),
            ACCEPTED,
            prelude=(),
            transitions=(OPEN, SET_CONTACT),
        ),
        id="transitions-PER-first-message-with-reply-to",
    ),
    pytest.param(
        Row(
            patient_writes(SECRETARIAT), ACCEPTED, prelude=(martin_writes(reply_to=(SECRETARIAT,)),)
        ),
        id="OK-P2-patient-to-reply-to-contact",
    ),
    pytest.param(
        Row(patient_writes(DR_MARTIN), P2, prelude=(martin_writes(reply_to=(SECRETARIAT,)),)),
        id="P2-patient-to-sender-when-contact-is-other",
    ),
    pytest.param(
        Row(
            patient_writes(DR_MARTIN),
            ACCEPTED,
            prelude=(martin_writes(reply_to=(SECRETARIAT,)), martin_writes()),
        ),
        id="OK-P2-later-message-without-reply-to-makes-sender-contact",
    ),
    pytest.param(
        Row(martin_writes(reply_to=(INTERNET,)), ACCEPTED, transitions=(OPEN,)),
        id="transitions-PER-untrusted-reply-to-ignored",
    ),
    pytest.param(
        Row(Send(NOREPLY, PATIENT, reply_to=(ACCUEIL,)), ACCEPTED, transitions=(OPEN, SET_CONTACT)),
        id="transitions-APP-trusted-reply-to-opens",
    ),
    pytest.param(
        Row(Send(NOREPLY, PATIENT, reply_to=(INTERNET,)), ACCEPTED),
        id="transitions-APP-untrusted-reply-to-opens-nothing",
    ),
    pytest.param(
        Row(Send(NOREPLY, PATIENT, reply_to=(PATIENT_B,)), ACCEPTED),
        id="transitions-APP-patient-reply-to-opens-nothing",
    ),
    pytest.param(
        Row(Send(NOREPLY, PATIENT, reply_to=(UNKNOWN_PS,)), ACCEPTED),
        id="transitions-APP-unknown-local-reply-to-opens-nothing",
    ),
    pytest.param(Row(Send(NOREPLY, PATIENT), ACCEPTED), id="transitions-APP-no-reply-to"),
    pytest.param(
        Row(
            patient_writes(ACCUEIL),
            ACCEPTED,
            prelude=(Send(NOREPLY, PATIENT, reply_to=(ACCUEIL,)),),
        ),
        id="OK-P2-patient-to-APP-trusted-reply-to",
    ),
    pytest.param(
        Row(
            patient_writes(REMOTE_PS),
            ACCEPTED,
            prelude=(Send(NOREPLY, PATIENT, reply_to=(REMOTE_PS,)),),
        ),
        id="OK-P2-patient-to-APP-reply-to-in-trusted-domain",
    ),
    pytest.param(
        Row(patient_writes(INTERNET), T3, prelude=(Send(NOREPLY, PATIENT, reply_to=(INTERNET,)),)),
        id="T3-patient-to-APP-untrusted-reply-to",
    ),
    pytest.param(
        Row(patient_writes(NOREPLY), R2, prelude=(Send(NOREPLY, PATIENT, reply_to=(ACCUEIL,)),)),
        id="R2-patient-to-APP-itself-after-it-wrote",
    ),
    # End of conversation: [FIN], X-MSS-MES: FIN, webmail; reopening
    pytest.param(
        Row(martin_writes(subject="[FIN]"), ACCEPTED, prelude=WROTE, transitions=(END,)),
        id="transitions-FIN-subject-ends-and-is-delivered",
    ),
    pytest.param(
        Row(martin_writes(subject="[FIN]"), ACCEPTED, transitions=(OPEN, END)),
        id="transitions-FIN-as-first-message",
    ),
    pytest.param(
        Row(
            patient_writes(DR_MARTIN),
            P2,
            prelude=WROTE + ENDED_BY_SUBJECT,
            cause=Cause.CONVERSATION_ENDED,
        ),
        id="P2-after-FIN-subject",
    ),
    pytest.param(
        Row(patient_writes(DR_MARTIN), P2, prelude=(*WROTE, martin_writes(subject="  [FIN] "))),
        id="P2-after-FIN-subject-with-surrounding-spaces",
    ),
    pytest.param(
        Row(patient_writes(DR_MARTIN), ACCEPTED, prelude=(*WROTE, martin_writes(subject="[fin]"))),
        id="OK-lowercase-fin-does-not-end",
    ),
    pytest.param(
        Row(
            patient_writes(DR_MARTIN),
            ACCEPTED,
            prelude=(*WROTE, martin_writes(subject="Re: [FIN]")),
        ),
        id="OK-re-FIN-does-not-end",
    ),
    pytest.param(
        Row(
            patient_writes(DR_MARTIN),
            P2,
            prelude=(*WROTE, martin_writes(subject="Résultats", x_mss_mes=("FIN",))),
        ),
        id="P2-after-X-MSS-MES-FIN",
    ),
    pytest.param(
        Row(martin_writes(x_mss_mes=(" FIN",)), ACCEPTED, prelude=WROTE, transitions=(END,)),
        id="transitions-X-MSS-MES-FIN",
    ),
    pytest.param(
        Row(martin_writes(x_mss_mes=("fin",)), ACCEPTED, prelude=WROTE),
        id="transitions-X-MSS-MES-lowercase-ignored",
    ),
    pytest.param(
        Row(martin_writes(), ACCEPTED, prelude=WROTE + ENDED_BY_SUBJECT, transitions=(OPEN,)),
        id="transitions-new-message-reopens",
    ),
    pytest.param(
        Row(patient_writes(DR_MARTIN), ACCEPTED, prelude=WROTE + ENDED_BY_SUBJECT + WROTE),
        id="OK-P2-after-reopen-by-message",
    ),
    pytest.param(
        Row(martin_writes(), ACCEPTED, prelude=WROTE), id="transitions-second-message-no-change"
    ),
    pytest.param(
        Row(patient_writes(DR_MARTIN), ACCEPTED, prelude=(*WROTE, patient_writes(DR_MARTIN))),
        id="transitions-patient-reply-changes-nothing",
    ),
    pytest.param(
        Row(
            EndAction(DR_MARTIN_RIGHTS, DR_MARTIN, PATIENT),
            ACCEPTED,
            prelude=WROTE,
            transitions=(END,),
        ),
        id="transitions-webmail-end",
    ),
    pytest.param(
        Row(
            patient_writes(DR_MARTIN),
            P2,
            prelude=(*WROTE, EndAction(DR_MARTIN_RIGHTS, DR_MARTIN, PATIENT)),
        ),
        id="P2-after-webmail-end",
    ),
    pytest.param(
        Row(
            patient_writes(DR_MARTIN),
            ACCEPTED,
            prelude=WROTE
            + ENDED_BY_SUBJECT
            + (ReopenAction(DR_MARTIN_RIGHTS, DR_MARTIN, PATIENT),),
        ),
        id="OK-P2-after-webmail-reopen",
    ),
    pytest.param(
        Row(
            EndAction(ORG_MEMBER_SEND_AS, DR_MARTIN, PATIENT),
            T2,
            prelude=WROTE,
            cause=Cause.ACTION_NOT_ALLOWED,
        ),
        id="T2-webmail-end-by-other-PS",
    ),
    pytest.param(
        Row(EndAction(owner_rights(PATIENT), DR_MARTIN, PATIENT), T2, prelude=WROTE),
        id="T2-webmail-end-by-patient",
    ),
    pytest.param(
        Row(
            EndAction(ORG_MEMBER_SEND_AS, SECRETARIAT, PATIENT),
            ACCEPTED,
            prelude=(Send(SECRETARIAT, PATIENT),),
            transitions=(END,),
        ),
        id="transitions-webmail-end-by-ORG-member-with-send-as",
    ),
    pytest.param(
        Row(
            EndAction(ORG_MEMBER_READ_ONLY, SECRETARIAT, PATIENT),
            T2,
            prelude=(Send(SECRETARIAT, PATIENT),),
        ),
        id="T2-webmail-end-by-ORG-member-read-only",
    ),
    pytest.param(
        Row(
            EndAction(owner_rights(ACCUEIL), NOREPLY, PATIENT),
            ACCEPTED,
            prelude=(Send(NOREPLY, PATIENT, reply_to=(ACCUEIL,)),),
            transitions=(END,),
        ),
        id="transitions-webmail-end-by-APP-reply-to-contact",
    ),
    pytest.param(
        Row(ReopenAction(DR_MARTIN_RIGHTS, DR_MARTIN, PATIENT), ACCEPTED, prelude=WROTE),
        id="transitions-webmail-reopen-when-open-no-change",
    ),
    # S1: size
    pytest.param(
        Row(Send(DR_MARTIN, PATIENT, size=25 * MIB), ACCEPTED, transitions=(OPEN,)),
        id="OK-S1-patient-at-limit",
    ),
    pytest.param(
        Row(Send(DR_MARTIN, PATIENT, size=25 * MIB + 1), S1, cause=Cause.TOO_LARGE_FOR_PATIENT),
        id="S1-patient-over-limit",
    ),
    pytest.param(Row(Send(DR_MARTIN, DR_DURAND, size=50 * MIB), ACCEPTED), id="OK-S1-PS-at-limit"),
    pytest.param(
        Row(Send(DR_MARTIN, DR_DURAND, size=50 * MIB + 1), S1, cause=Cause.TOO_LARGE),
        id="S1-PS-over-operator-limit",
    ),
    pytest.param(
        Row(patient_writes(DR_MARTIN, size=25 * MIB + 1), ACCEPTED, prelude=WROTE),
        id="OK-S1-patient-sender-to-PS-uses-operator-limit",
    ),
    pytest.param(Row(patient_writes(DR_DURAND, size=60 * MIB), P2), id="P2-before-S1"),
    # S2: attachments
    pytest.param(Row(with_attachment(Attachment("setup.exe")), S2), id="S2-exe-by-name"),
    pytest.param(
        Row(with_attachment(Attachment("facture.pdf.exe ", "application/pdf")), S2),
        id="S2-double-extension-trailing-space",
    ),
    pytest.param(
        Row(with_attachment(Attachment("scan.pdf", "application/pdf", b"MZ\x90\x00")), S2),
        id="S2-renamed-PE-by-magic",
    ),
    pytest.param(
        Row(with_attachment(Attachment("scan.pdf", "application/pdf", b"\x7fELF\x02")), S2),
        id="S2-renamed-ELF-by-magic",
    ),
    pytest.param(
        Row(with_attachment(Attachment("notes.txt", "text/plain", b"#!/bin/sh\nrm -rf /")), S2),
        id="S2-script-by-shebang",
    ),
    pytest.param(Row(with_attachment(Attachment("run.ps1", "text/plain")), S2), id="S2-ps1"),
    pytest.param(Row(with_attachment(Attachment("app.js", "text/plain")), S2), id="S2-js"),
    pytest.param(
        Row(with_attachment(Attachment("readme", "application/x-msdownload")), S2),
        id="S2-executable-by-content-type",
    ),
    pytest.param(
        Row(with_attachment(Attachment("run", "text/x-shellscript")), S2),
        id="S2-script-by-content-type",
    ),
    pytest.param(Row(with_attachment(Attachment("rapport.docm")), S2), id="S2-macro-document"),
    pytest.param(Row(with_attachment(Attachment("dossier.7z")), S2), id="S2-7z"),
    pytest.param(Row(with_attachment(Attachment("dossier.rar")), S2), id="S2-rar"),
    pytest.param(Row(with_attachment(Attachment("dossier.tar.gz")), S2), id="S2-tar-gz"),
    pytest.param(Row(with_attachment(TAR), S2), id="S2-tar-by-ustar-magic"),
    pytest.param(
        Row(with_attachment(Attachment("dossier.zip", "application/zip", b"PK\x03\x04")), S2),
        id="S2-zip-not-XDM",
    ),
    pytest.param(
        Row(with_attachment(Attachment("scan.pdf", "application/pdf", b"PK\x03\x04")), S2),
        id="S2-zip-by-magic-named-pdf",
    ),
    pytest.param(
        Row(with_attachment(Attachment("resultat.pdf", "application/x-zip-compressed")), S2),
        id="S2-zip-by-content-type-named-pdf",
    ),
    pytest.param(
        Row(with_attachment(Attachment("IHE_XDM.zip", "application/zip", b"MZ\x90\x00")), S2),
        id="S2-XDM-name-on-executable",
    ),
    pytest.param(
        Row(with_attachment(Attachment("IHE_XDM.zip", "application/gzip")), S2),
        id="S2-XDM-name-on-gzip",
    ),
    pytest.param(Row(with_attachment(XDM), ACCEPTED), id="OK-S2-XDM-zip"),
    pytest.param(
        Row(with_attachment(XDM, PATIENT), ACCEPTED, transitions=(OPEN,)),
        id="OK-S2-XDM-zip-to-patient",
    ),
    pytest.param(
        Row(
            with_attachment(
                Attachment(
                    "lettre.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    b"PK\x03\x04",
                )
            ),
            ACCEPTED,
        ),
        id="OK-S2-docx-is-a-document",
    ),
    pytest.param(
        Row(with_attachment(Attachment("irm.jpg", "image/jpeg", b"\xff\xd8\xff\xe0")), ACCEPTED),
        id="OK-S2-image",
    ),
    # S3: documents invisible to the patient
    pytest.param(
        Row(with_attachment(INVISIBLE, PATIENT), S3), id="S3-INVISIBLE_PATIENT-to-patient"
    ),
    pytest.param(Row(with_attachment(INVISIBLE), ACCEPTED), id="OK-S3-INVISIBLE_PATIENT-to-PS"),
    pytest.param(Row(with_attachment(Attachment("a.exe"), PATIENT), S2), id="S2-before-S3"),
    # OK
    pytest.param(Row(Send(DR_MARTIN, DR_DURAND), ACCEPTED), id="OK-PS-to-PS"),
    pytest.param(
        Row(Send(DR_MARTIN, PATIENT), ACCEPTED, transitions=(OPEN,)), id="OK-PS-to-patient"
    ),
    pytest.param(
        Row(Send(SECRETARIAT, PATIENT), ACCEPTED, transitions=(OPEN,)), id="OK-ORG-to-patient"
    ),
]


@pytest.mark.parametrize("row", ROWS)
def test_policy_table(row: Row) -> None:
    world = PolicyWorld()
    for pharmacy, days_ago in row.dispensations:
        world.dispensed(PATIENT, pharmacy, days_ago)
    for step in row.prelude:
        assert world.run(step).verdict.accepted, f"prelude step refused: {step}"
    decision = world.run(row.step)
    verdict = decision.verdict
    assert (verdict.code, verdict.enhanced, verdict.rule) == row.expected, verdict.reason
    assert verdict.accepted == (verdict.rule is Rule.OK)
    assert tuple(t.kind for t in decision.transitions) == row.transitions
    if row.cause is not None:
        assert verdict.cause is row.cause
    assert verdict.redirect_to == row.redirect_to
    if verdict.refused:
        assert verdict.smtp_reply().startswith(f"{int(verdict.code)} {verdict.enhanced.value} ")
