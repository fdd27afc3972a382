"""The catalogue of verdicts: every refusal with its code, rule and bilingual sentence.

Each sentence says what happened and what the sender can do (docs/architecture.md §4: French first,
English after). Defined once so that SMTP, the webmail and the API say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from mss.policy.codes import Cause, EnhancedStatus, ReplyCode, Rule
from mss.policy.verdict import Verdict

MEBIBYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Entry:
    rule: Rule
    code: ReplyCode
    enhanced: EnhancedStatus
    french: str
    english: str


_POLICY = (ReplyCode.MAILBOX_UNAVAILABLE, EnhancedStatus.DELIVERY_NOT_AUTHORIZED)
_PEER_NOT_YET = (ReplyCode.SERVICE_NOT_AVAILABLE, EnhancedStatus.DELIVERY_NOT_AUTHORIZED_YET)

_CATALOGUE: dict[Cause, _Entry] = {
    # Temporary (421 4.7.1, as Postfix answers): a legitimate peer whose certificate is
    # missing or not yet trusted keeps the message and retries instead of bouncing it.
    Cause.PEER_WITHOUT_CERTIFICATE: _Entry(
        Rule.T1,
        *_PEER_NOT_YET,
        "Aucun certificat client présenté : connectez-vous avec le certificat serveur "
        "IGC-Santé de votre opérateur ; votre serveur garde le message et réessaiera.",
        "No client certificate presented: connect with your operator's IGC-Santé server "
        "certificate; your server keeps the message and will retry.",
    ),
    Cause.PEER_CERTIFICATE_NOT_TRUSTED: _Entry(
        Rule.T1,
        *_PEER_NOT_YET,
        "Certificat client non reconnu (non valide, révoqué ou d'une autre autorité) : "
        "installez un certificat serveur IGC-Santé valide ; votre serveur réessaiera.",
        "Client certificate not trusted (invalid, revoked or from another authority): "
        "install a valid IGC-Santé server certificate; your server will retry.",
    ),
    Cause.PEER_NOT_LISTED: _Entry(
        Rule.T1,
        *_POLICY,
        "Le certificat présenté n'est pas inscrit sur la liste blanche pour le domaine "
        "de l'expéditeur : faites vérifier l'inscription de votre opérateur.",
        "The certificate presented is not on the trust list for the sender's domain: "
        "have your operator's trust-list entry checked.",
    ),
    Cause.SENDER_NOT_ALLOWED: _Entry(
        Rule.T2,
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        EnhancedStatus.DELIVERY_NOT_AUTHORIZED,
        "Vous n'êtes pas autorisé à envoyer depuis cette adresse : utilisez votre boîte "
        "aux lettres ou demandez le droit d'envoi sur la boîte organisationnelle.",
        "You may not send from this address: use your own mailbox or ask for the "
        "send-as right on the organisational mailbox.",
    ),
    Cause.ACTION_NOT_ALLOWED: _Entry(
        Rule.T2,
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        EnhancedStatus.DELIVERY_NOT_AUTHORIZED,
        "Vous n'agissez pas pour cette boîte aux lettres : seul son titulaire ou un "
        "membre ayant le droit d'envoi peut clore ou rouvrir l'échange.",
        "You do not act for this mailbox: only its owner or a member with the send-as "
        "right may end or reopen the conversation.",
    ),
    Cause.AUTHOR_NOT_ALLOWED: _Entry(
        Rule.T4,
        *_POLICY,
        "L'adresse {name} des en-têtes From/Sender n'est pas la vôtre : un message ne "
        "peut nommer comme auteur que votre boîte, une boîte organisationnelle où vous "
        "avez le droit d'envoi, ou votre boîte applicative.",
        "The address {name} in the From/Sender fields is not yours: a message may name "
        "as its author only your mailbox, an organisational mailbox where you hold the "
        "send-as right, or your application mailbox.",
    ),
    Cause.AUTHOR_UNREADABLE: _Entry(
        Rule.T4,
        *_POLICY,
        "Les en-têtes From/Sender sont illisibles ou répétés : écrivez un seul champ "
        "From (et au plus un Sender) avec des adresses valides.",
        "The From/Sender fields are unreadable or repeated: write one From field (and at "
        "most one Sender) with valid addresses.",
    ),
    Cause.SENDER_NOT_MEMBER: _Entry(
        Rule.T4,
        *_POLICY,
        "Le champ Sender doit nommer votre propre boîte quand le message est écrit au "
        "nom d'une boîte organisationnelle ou de plusieurs auteurs.",
        "The Sender field must name your own mailbox when the message is written on "
        "behalf of an organisational mailbox or of several authors.",
    ),
    Cause.PEER_AUTHOR_NOT_LISTED: _Entry(
        Rule.T4,
        *_POLICY,
        "Le domaine de l'adresse {name} du champ From n'est pas inscrit sur la liste "
        "blanche pour votre opérateur : un opérateur ne transmet que le courrier de ses "
        "propres domaines.",
        "The domain of the address {name} in the From field is not on the trust list "
        "for your operator: an operator hands over mail of its own domains only.",
    ),
    Cause.RELAY_DENIED: _Entry(
        Rule.T3,
        *_POLICY,
        "Ce serveur ne relaie pas le courrier vers d'autres domaines : remettez le "
        "message directement à l'opérateur du destinataire.",
        "This server does not relay mail to other domains: deliver the message to the "
        "recipient's operator directly.",
    ),
    Cause.DOMAIN_NOT_TRUSTED: _Entry(
        Rule.T3,
        *_POLICY,
        "Le domaine du destinataire est hors de l'espace de confiance MSSanté : écrivez "
        "à une adresse d'un opérateur de la liste blanche.",
        "The recipient's domain is outside the MSSanté trust space: write to an address "
        "of an operator on the trust list.",
    ),
    Cause.UNKNOWN_MAILBOX: _Entry(
        Rule.R1,
        ReplyCode.MAILBOX_UNAVAILABLE,
        EnhancedStatus.BAD_DESTINATION_MAILBOX,
        "Adresse invalide : aucune boîte aux lettres ne porte cette adresse ; "
        "vérifiez-la dans l'annuaire.",
        "Invalid address: no mailbox has this address; check it in the directory.",
    ),
    Cause.UNKNOWN_PATIENT: _Entry(
        Rule.R1,
        ReplyCode.MAILBOX_UNAVAILABLE,
        EnhancedStatus.BAD_DESTINATION_MAILBOX,
        "Patient non trouvé : aucune messagerie patient ne porte cette adresse ; "
        "vérifiez l'INS du patient.",
        "Patient not found: no patient mailbox has this address; check the patient's INS.",
    ),
    Cause.APPLICATION_MAILBOX: _Entry(
        Rule.R2,
        *_POLICY,
        "Cette boîte applicative ne reçoit pas de courrier : écrivez à l'adresse de "
        "réponse indiquée dans le message ou au service concerné.",
        "This application mailbox does not receive mail: write to the reply address "
        "given in the message or to the service concerned.",
    ),
    Cause.PATIENT_OPPOSED: _Entry(
        Rule.R3,
        ReplyCode.MAILBOX_UNAVAILABLE,
        EnhancedStatus.MAILBOX_DISABLED,
        "Le patient s'est opposé à sa messagerie santé : contactez-le par un autre moyen.",
        "The patient has opted out of health messaging: contact them another way.",
    ),
    Cause.PATIENT_CLOSED: _Entry(
        Rule.R3,
        ReplyCode.MAILBOX_UNAVAILABLE,
        EnhancedStatus.MAILBOX_DISABLED,
        "Messagerie fermée : le patient a clôturé son espace santé ; contactez-le par un "
        "autre moyen.",
        "Mailbox closed: the patient has closed their health space; contact them another way.",
    ),
    Cause.PATIENT_TO_PATIENT: _Entry(
        Rule.P1,
        *_POLICY,
        "Un patient ne peut pas écrire à un autre patient : seuls les professionnels qui "
        "vous ont écrit sont joignables.",
        "A patient cannot write to another patient: only professionals who wrote to you "
        "can be reached.",
    ),
    Cause.NO_SUCH_CONVERSATION: _Entry(
        Rule.T2,
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        EnhancedStatus.DELIVERY_NOT_AUTHORIZED,
        "Aucun échange n'existe entre cette boîte et ce patient : écrivez-lui pour en "
        "ouvrir un.",
        "There is no conversation between this mailbox and this patient: write to them "
        "to open one.",
    ),
    Cause.NO_CONVERSATION: _Entry(
        Rule.P2,
        *_POLICY,
        "Ce patient n'a pas de conversation ouverte avec ce destinataire : seul un "
        "professionnel peut initier l'échange.",
        "This patient has no open conversation with this recipient: only a professional "
        "can start one.",
    ),
    Cause.CONVERSATION_ENDED: _Entry(
        Rule.P2,
        *_POLICY,
        "Le professionnel a clos cet échange : vous pourrez répondre quand il vous "
        "écrira de nouveau.",
        "The professional has ended this conversation: you can reply when they write to you again.",
    ),
    Cause.TOO_LARGE_FOR_PATIENT: _Entry(
        Rule.S1,
        ReplyCode.EXCEEDED_STORAGE,
        EnhancedStatus.MESSAGE_TOO_BIG,
        "Message trop volumineux : la limite vers un patient est de {limit_fr} ; "
        "envoyez moins de pièces jointes ou des fichiers plus légers.",
        "Message too large: the limit towards a patient is {limit_en}; send fewer or "
        "smaller attachments.",
    ),
    Cause.TOO_LARGE: _Entry(
        Rule.S1,
        ReplyCode.EXCEEDED_STORAGE,
        EnhancedStatus.MESSAGE_TOO_BIG,
        "Message trop volumineux : la limite de cet opérateur est de {limit_fr} ; "
        "envoyez moins de pièces jointes ou des fichiers plus légers.",
        "Message too large: this operator's limit is {limit_en}; send fewer or smaller "
        "attachments.",
    ),
    Cause.FORBIDDEN_ATTACHMENT: _Entry(
        Rule.S2,
        ReplyCode.TRANSACTION_FAILED,
        EnhancedStatus.MEDIA_NOT_SUPPORTED,
        "Pièce jointe refusée ({name}) : exécutables, scripts et archives sont interdits, "
        "sauf l'archive IHE_XDM.zip ; retirez-la ou joignez un PDF.",
        "Attachment refused ({name}): executables, scripts and archives are forbidden, "
        "except an IHE_XDM.zip archive; remove it or attach a PDF.",
    ),
    Cause.INVISIBLE_TO_PATIENT: _Entry(
        Rule.S3,
        ReplyCode.TRANSACTION_FAILED,
        EnhancedStatus.DELIVERY_NOT_AUTHORIZED,
        "Un document est marqué INVISIBLE_PATIENT : il ne peut pas être envoyé au "
        "patient ; retirez-le du message.",
        "A document is marked INVISIBLE_PATIENT: it cannot be sent to the patient; "
        "remove it from the message.",
    ),
}

_NAME_MAX = 60


def _size_text(size: int, unit: str) -> str:
    if size % MEBIBYTE == 0:
        return f"{size // MEBIBYTE} {unit}"
    return f"{size / MEBIBYTE:.1f} {unit}"


def _safe_name(name: str) -> str:
    """A file name fit for a reply line: printable, no CR/LF injection, bounded."""
    printable = "".join(c for c in name if c.isprintable())
    return printable[:_NAME_MAX] or "?"


def refusal(cause: Cause, *, limit: int = 0, name: str = "") -> Verdict:
    """The refusal verdict for `cause`; `limit` (bytes) fills S1, `name` fills S2."""
    entry = _CATALOGUE[cause]
    fields = {
        "limit_fr": _size_text(limit, "Mo"),
        "limit_en": _size_text(limit, "MB"),
        "name": _safe_name(name),
    }
    reason = f"{entry.french.format(**fields)} / {entry.english.format(**fields)}"
    return Verdict(False, entry.code, entry.enhanced, entry.rule, reason, cause)


def accepted_at_mail() -> Verdict:
    """MAIL FROM accepted (T1, T2 passed)."""
    return Verdict(
        True, ReplyCode.OK, EnhancedStatus.SENDER_OK, Rule.OK, "Expéditeur accepté. / Sender OK."
    )


def accepted_at_rcpt(redirect_to: str | None = None) -> Verdict:
    """RCPT TO accepted (T3 to P2 passed); `redirect_to` for an APP with a responsible
    mailbox (MSS policy R2)."""
    if redirect_to:
        reason = (
            "Destinataire accepté : le message sera remis à la boîte responsable de cette "
            "application. / Recipient OK: the message goes to this application's "
            "responsible mailbox."
        )
    else:
        reason = "Destinataire accepté. / Recipient OK."
    return Verdict(
        True,
        ReplyCode.OK,
        EnhancedStatus.DESTINATION_VALID,
        Rule.OK,
        reason,
        redirect_to=redirect_to,
    )


def accepted(redirect_to: str | None = None) -> Verdict:
    """The message is accepted for this recipient (every rule passed)."""
    return Verdict(
        True,
        ReplyCode.OK,
        EnhancedStatus.OK,
        Rule.OK,
        "Message accepté. / Message accepted.",
        redirect_to=redirect_to,
    )
