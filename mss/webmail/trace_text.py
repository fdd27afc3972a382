"""The patient's audit trail in plain French or English: who did what on her record,
to which document, when (docs/architecture.md §9 "Access and traces"; traces never hold message
content).

Each action has a sentence for someone else and one for the patient herself (so that
"you" is never conjugated as a third person), in both languages. A document is named by
its title, a refused attachment by its file name and what was wrong with it (the vault's
tables, not the audit row, hold names). No rule code, header convention or file-format
name reaches the page: an archive is "l'archive de documents". The service's own reads
(`system:` principals listing or opening) are housekeeping, shown apart from people.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.tables import AuditEvent
from mss.vault.problem_text import problem_text
from mss.vault.xdm_archive import is_xdm_archive_name
from mss.webmail.agenda_words import TRACE_SENTENCES
from mss.webmail.rendering import local_time


@dataclass(frozen=True, slots=True)
class TraceLine:
    id: int
    at: datetime
    text: str
    refused: bool
    emergency: bool
    housekeeping: bool = False
    """A read by the service itself, not by a person."""


@dataclass(frozen=True, slots=True)
class TraceNames:
    """What the page names: people by label, documents by id, refused files by deposit."""

    people: dict[str, str]
    documents: dict[int, str]
    refusals: dict[int, list[tuple[str, str]]]  # deposit id → [(file name, kind)]


A = AuditAction
# action → (French for others, French for oneself, English for others, English for oneself)
_SENTENCES: dict[str, tuple[str, str, str, str]] = {
    A.MESSAGE_DELIVERED: ("{who} vous a envoyé un message.", "Vous avez envoyé un message.",
                          "{who} sent you a message.", "You sent a message."),
    A.MESSAGE_ACCEPTED: ("{who} vous a envoyé un message.", "Vous avez envoyé un message.",
                         "{who} sent you a message.", "You sent a message."),
    A.MESSAGE_REFUSED: ("Un message de {who} ne vous a pas été remis.",
                        "Un de vos messages n'a pas été remis.",
                        "A message from {who} was not delivered to you.",
                        "One of your messages was not delivered."),
    A.MESSAGE_QUEUED: ("{who} a envoyé un message.", "Vous avez envoyé un message.",
                       "{who} sent a message.", "You sent a message."),
    A.MESSAGE_READ: ("{who} a lu {message}.", "Vous avez lu {message}.",
                     "{who} read {message}.", "You read {message}."),
    A.MESSAGE_FLAGS_CHANGED: ("{who} a changé l'état (lu, non lu) de {message}.",
                              "Vous avez changé l'état (lu, non lu) de {message}.",
                              "{who} changed the state (read, unread) of {message}.",
                              "You changed the state (read, unread) of {message}."),
    A.MESSAGE_MOVED: ("{who} a déplacé {message} (corbeille).",
                      "Vous avez déplacé {message} (corbeille).",
                      "{who} moved {message} (trash).", "You moved {message} (trash)."),
    A.MESSAGE_EXPUNGED: ("{who} a effacé un message resté 30 jours dans la corbeille.",
                         "Un message resté 30 jours dans la corbeille a été effacé.",
                         "{who} erased a message left 30 days in the trash.",
                         "A message left 30 days in the trash was erased."),
    A.CONVERSATION_OPENED: ("{who} a ouvert des échanges avec vous.",
                            "Vous avez ouvert des échanges.",
                            "{who} opened an exchange with you.", "You opened an exchange."),
    A.CONVERSATION_ENDED: ("{who} a mis fin aux échanges.", "Les échanges ont pris fin.",
                           "{who} ended the exchange.", "The exchange ended."),
    A.CONVERSATION_CONTACT_SET: ("{who} a désigné le destinataire de vos réponses.",
                                 "Le destinataire de vos réponses a changé.",
                                 "{who} chose who receives your replies.",
                                 "Who receives your replies changed."),
    A.DOCUMENT_DEPOSITED: ("{who} a déposé {doc} dans votre dossier.",
                           "Vous avez déposé {doc}.",
                           "{who} filed {doc} in your record.", "You filed {doc}."),
    A.DOCUMENT_REJECTED: ("{doc}, envoyé par {who}, n'a pas été déposé{why}.",
                          "{doc} n'a pas été déposé{why}.",
                          "{doc}, sent by {who}, was not filed{why}.",
                          "{doc} was not filed{why}."),
    A.DOCUMENT_LISTED: ("{who} a consulté la liste de vos documents.",
                        "Vous avez consulté la liste de vos documents.",
                        "{who} looked at the list of your documents.",
                        "You looked at the list of your documents."),
    A.DOCUMENT_READ: ("{who} a ouvert {doc}.", "Vous avez ouvert {doc}.",
                      "{who} opened {doc}.", "You opened {doc}."),
    A.DOCUMENT_DOWNLOADED: ("{who} a téléchargé {doc}.", "Vous avez téléchargé {doc}.",
                            "{who} downloaded {doc}.", "You downloaded {doc}."),
    A.DOCUMENT_UPLOADED: ("{who} a déposé {doc} dans Espace personnel.",
                          "Vous avez déposé {doc} dans Espace personnel.",
                          "{who} put {doc} in Espace personnel.",
                          "You put {doc} in Espace personnel."),
    A.DOCUMENT_HIDDEN: ("{who} a changé qui peut voir vos documents.",
                        "Vous avez changé qui peut voir vos documents.",
                        "{who} changed who can see your documents.",
                        "You changed who can see your documents."),
    A.DOCUMENT_DELETED: ("{who} a supprimé {doc}.", "Vous avez supprimé {doc}.",
                         "{who} deleted {doc}.", "You deleted {doc}."),
    A.BREAK_GLASS: ("{who} a accédé en urgence (bris de glace) à vos documents.",
                    "Vous avez accédé en urgence à des documents.",
                    "{who} opened your documents in an emergency (break-glass).",
                    "You opened documents in an emergency."),
    A.AUTH_SUCCEEDED: ("{who} s'est connecté(e) à votre messagerie.",
                       "Vous vous êtes connecté(e) à votre messagerie.",
                       "{who} logged in to your mailbox.", "You logged in to your mailbox."),
    A.PATIENT_STATE_CHANGED: ("{who} a modifié les réglages de votre espace.",
                              "Vous avez modifié les réglages de votre espace.",
                              "{who} changed the settings of your space.",
                              "You changed the settings of your space."),
}
_SENTENCES.update(TRACE_SENTENCES)  # the agenda's and the profile's actions
_OTHER = ("{who} a effectué une action sur votre dossier.",
          "Vous avez effectué une action sur votre dossier.",
          "{who} acted on your record.", "You acted on your record.")
_HOUSEKEEPING_ACTIONS = frozenset({A.DOCUMENT_LISTED, A.DOCUMENT_READ, A.MESSAGE_READ,
                                   A.DOCUMENT_DOWNLOADED})
_WORDS = {
    "service": ("La messagerie santé", "The health mail service"),
    "professional": ("Un professionnel de santé", "A health professional"),
    "application": ("Un logiciel d'établissement de santé", "A health facility's software"),
    "other": ("Un tiers", "Someone else"),
    "document": ("un document", "a document"),
    "your document": ("un de vos documents", "one of your documents"),
    "archive": ("l'archive de documents", "the document archive"),
    "message": ("un message", "a message"),
    "your message": ("votre message du {date}", "your message of {date}"),
    "a message of": ("un message du {date}", "a message of {date}"),
    "refused": (" (refusé)", " (refused)"),
    "reason": (" Motif : « {reason} ».", " Reason: “{reason}”."),
}


def word(key: str, lang: str) -> str:
    french, english = _WORDS[key]
    return english if lang == "en" else french


def who(label: str, own_label: str, names: dict[str, str], lang: str = "fr") -> str:
    """The actor's name; '' for the patient herself (the sentence says "you")."""
    if label == own_label:
        return ""
    if label.startswith("system:"):
        return word("service", lang)
    if label in names:
        return names[label]
    if label.startswith("professional:"):
        return word("professional", lang)
    if label.startswith("application:"):
        return word("application", lang)
    return word("other", lang)


def _detail(detail: str, key: str) -> str:
    """`key=value` from an audit detail; the value runs to the next ` word=`."""
    marker = f"{key}="
    if marker not in detail:
        return ""
    value = detail.split(marker, 1)[1]
    for other in (" until=", " folder=", " uid=", " date=", " from=", " as=",
                  " profession=", " physician_told=", " message=", " why=", " space="):
        value = value.split(other, 1)[0]
    return value.strip()


def _target_id(target: str, kind: str) -> int | None:
    prefix = f"{kind}:"
    if target.startswith(prefix) and target[len(prefix):].isdigit():
        return int(target[len(prefix):])
    return None


def _rejected(event: AuditEvent, names: TraceNames, lang: str) -> tuple[str, str]:
    """The refused file's name and why, from the deposit's problem rows."""
    deposit = _target_id(event.target, "deposit")
    kind = _detail(event.detail, "kind")
    files = [name for name, k in names.refusals.get(deposit or -1, []) if k == kind]
    name = files[0] if len(files) == 1 else ""
    if not name or is_xdm_archive_name(name):
        shown = word("archive", lang) if name else word("document", lang)
    else:
        shown = f"« {name} »" if lang == "fr" else f"“{name}”"
    why = f" : {problem_text(kind, lang)}" if kind else ""
    if lang == "en" and why:
        why = f": {problem_text(kind, lang)}"
    return shown, why


def trace_line(event: AuditEvent, own_label: str, names: TraceNames | dict[str, str],
               lang: str = "fr") -> TraceLine:
    if isinstance(names, dict):
        names = TraceNames(names, {}, {})
    actor = who(event.principal, own_label, names.people, lang)
    mine = actor == ""
    sentences = _SENTENCES.get(event.action, _OTHER)
    template = sentences[(2 if lang == "en" else 0) + (1 if mine else 0)]
    message = word("message", lang)
    sent_at = _detail(event.detail, "date")
    if sent_at:
        with contextlib.suppress(ValueError):
            date = local_time(datetime.fromisoformat(sent_at))
            message = word("a message of" if mine else "your message", lang).format(date=date)
    document_id = _target_id(event.target, "document")
    doc = word("your document", lang)
    if document_id is not None and document_id in names.documents:
        title = names.documents[document_id]
        doc = f"« {title} »" if lang == "fr" else f"“{title}”"
    why = ""
    if event.action == AuditAction.DOCUMENT_REJECTED:
        doc, why = _rejected(event, names, lang)
    text = template.format(who=actor, message=message, doc=doc, why=why)
    text = text[0].upper() + text[1:]
    emergency = event.action == AuditAction.BREAK_GLASS
    if emergency and event.outcome == AuditOutcome.OK:
        reason = _detail(event.detail, "reason")
        if reason:
            text += word("reason", lang).format(reason=reason)
    refused = event.outcome != AuditOutcome.OK
    if refused and event.action != AuditAction.DOCUMENT_REJECTED:
        text += word("refused", lang)
    housekeeping = (event.principal.startswith("system:")
                    and event.action in _HOUSEKEEPING_ACTIONS)
    return TraceLine(event.id, event.at, text, refused, emergency, housekeeping)
