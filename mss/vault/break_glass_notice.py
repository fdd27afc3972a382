"""Telling the patient's médecin traitant of a break-glass on her record (CSP R1111-48).

The patient is told on her personal address by the notifier (no health content there);
her médecin traitant is told inside the trust space, by a message into their own
mailbox, sent after the grant's commit like the processing acknowledgements: the same
null reverse-path submission through the one pipeline (mss.vault.mdn_sending). This one
names who opened the record, their profession, when, until when and the reason stated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mss.vault.access import BreakGlassNotice
from mss.vault.mdn_sending import AcknowledgementSender, spawn_acknowledgement


def physician_notice(notice: BreakGlassNotice, *, domain: str, now: datetime) -> EmailMessage:
    """The message to the médecin traitant (French, then English)."""
    who = notice.professional_name or notice.professional
    profession = f" ({notice.profession_label})" if notice.profession_label else ""
    patient = notice.patient_name or "votre patient(e)"
    at = notice.at.strftime("%d/%m/%Y %H:%M UTC")
    until = notice.expires_at.strftime("%d/%m/%Y %H:%M UTC")
    message = EmailMessage()
    message["From"] = f"Messagerie santé <ne-pas-repondre@{domain}>"
    message["To"] = notice.physician_address or ""
    message["Subject"] = f"Accès en urgence au dossier de {patient}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    message.set_content(
        f"{who}{profession} a ouvert en urgence (bris de glace) le dossier de {patient}, "
        f"dont vous êtes le médecin traitant, le {at}, jusqu'au {until}.\n"
        f"Motif indiqué : {notice.reason}\n"
        "La patiente ou le patient en est informé(e) aussi.\n\n"
        f"{who}{profession} opened the record of {patient}, whose attending physician you "
        f"are, in an emergency (break-glass) on {at}, until {until}.\n"
        f"Stated reason: {notice.reason}\n"
        "The patient is told too.\n"
    )
    return message


def physician_break_glass_notifier(
    sender: AcknowledgementSender, domain: str, now: Callable[[], datetime],
) -> Callable[[BreakGlassNotice], None]:
    """A `VaultService.on_break_glass` callback: the message goes out after commit."""

    def notify(notice: BreakGlassNotice) -> None:
        if not notice.physician_address:
            return
        message = physician_notice(notice, domain=domain, now=now())
        raw = message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        spawn_acknowledgement(sender, notice.physician_address, raw)

    return notify
