"""The patient's audit trail in plain French: who did what on their record, when
(docs/architecture.md §9 "Access and traces"; traces never hold message content)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.tables import AuditEvent
from mss.webmail.rendering import local_time


@dataclass(frozen=True, slots=True)
class TraceLine:
    id: int
    at: datetime
    text: str
    refused: bool
    emergency: bool


_SENTENCES: dict[str, str] = {
    AuditAction.MESSAGE_DELIVERED: "{who} vous a envoyé un message.",
    AuditAction.MESSAGE_ACCEPTED: "{who} vous a envoyé un message.",
    AuditAction.MESSAGE_REFUSED: "Un message de {who} n'a pas été remis.",
    AuditAction.MESSAGE_QUEUED: "{who} a envoyé un message.",
    AuditAction.MESSAGE_READ: "{who} a lu {message}.",
    AuditAction.CONVERSATION_OPENED: "{who} a ouvert des échanges avec vous.",
    AuditAction.CONVERSATION_ENDED: "{who} a mis fin aux échanges.",
    AuditAction.CONVERSATION_CONTACT_SET: "{who} a désigné le destinataire de vos réponses.",
    AuditAction.DOCUMENT_DEPOSITED: "{who} a déposé un document dans votre dossier.",
    AuditAction.DOCUMENT_REJECTED: "Un document envoyé par {who} n'a pas pu être classé.",
    AuditAction.DOCUMENT_LISTED: "{who} a consulté la liste de vos documents.",
    AuditAction.DOCUMENT_READ: "{who} a ouvert un de vos documents.",
    AuditAction.DOCUMENT_DOWNLOADED: "{who} a téléchargé un de vos documents.",
    AuditAction.DOCUMENT_UPLOADED: "{who} a déposé un document dans Espace personnel.",
    AuditAction.DOCUMENT_HIDDEN: "{who} a changé la visibilité d'un document.",
    AuditAction.DOCUMENT_DELETED: "{who} a supprimé un document.",
    AuditAction.BREAK_GLASS: "{who} a accédé en urgence (bris de glace) à vos documents.",
    AuditAction.AUTH_SUCCEEDED: "{who} : connexion à votre messagerie.",
    AuditAction.PATIENT_STATE_CHANGED: "{who} a modifié les réglages de votre espace.",
}


def who(label: str, own_label: str, names: dict[str, str]) -> str:
    if label == own_label:
        return "Vous"
    if label.startswith("system:"):
        return "La messagerie santé"
    if label in names:
        return names[label]
    if label.startswith("professional:"):
        return "Un professionnel de santé"
    if label.startswith("application:"):
        return "Un logiciel d'établissement de santé"
    return "Un tiers"


def _detail(detail: str, key: str) -> str:
    """`key=value` from an audit detail; the value runs to the next ` word=`."""
    marker = f"{key}="
    if marker not in detail:
        return ""
    value = detail.split(marker, 1)[1]
    for other in (" until=", " folder=", " uid=", " date=", " from="):
        value = value.split(other, 1)[0]
    return value.strip()


def trace_line(event: AuditEvent, own_label: str, names: dict[str, str]) -> TraceLine:
    actor = who(event.principal, own_label, names)
    template = _SENTENCES.get(event.action, "{who} : " + event.action)
    message = "un message"
    sent_at = _detail(event.detail, "date")
    if sent_at:
        with contextlib.suppress(ValueError):
            message = f"{'votre' if actor != 'Vous' else 'un'} message du " \
                      f"{local_time(datetime.fromisoformat(sent_at))}"
    text = template.format(who=actor, message=message)
    emergency = event.action == AuditAction.BREAK_GLASS
    if emergency and event.outcome == AuditOutcome.OK:
        reason = _detail(event.detail, "reason")
        if reason:
            text += f" Motif : « {reason} »."
    refused = event.outcome != AuditOutcome.OK
    if refused:
        text += " (refusé)"
    return TraceLine(event.id, event.at, text, refused, emergency)
