"""The one event vocabulary (docs/architecture.md §8.10): audit rows, logs and metrics all use
it."""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # store and mailboxes
    MESSAGE_DELIVERED = "message.delivered"
    # the patient's health agenda
    AGENDA_APPOINTMENT_CREATED = "agenda.appointment_created"
    AGENDA_APPOINTMENT_UPDATED = "agenda.appointment_updated"
    AGENDA_APPOINTMENT_CANCELLED = "agenda.appointment_cancelled"
    AGENDA_CALENDAR_IGNORED = "agenda.calendar_ignored"
    AGENDA_READ = "agenda.read"
    AGENDA_APPOINTMENT_DELETED = "agenda.appointment_deleted"
    AGENDA_SETTINGS_CHANGED = "agenda.settings_changed"
    AGENDA_REMINDER_QUEUED = "agenda.reminder_queued"
    AGENDA_FEED_CREATED = "agenda.feed_created"
    AGENDA_FEED_REVOKED = "agenda.feed_revoked"
    AGENDA_FEED_READ = "agenda.feed_read"
    # the patient's medical profile
    PROFILE_ITEM_ADDED = "profile.item_added"
    PROFILE_ITEM_CHANGED = "profile.item_changed"
    PROFILE_ITEM_DELETED = "profile.item_deleted"
    PROFILE_READ = "profile.read"
    PROFILE_SHARED = "profile.shared"
    PROFILE_REFUSED = "profile.refused"
    PROFILE_ERASED = "profile.erased"
    MESSAGE_APPENDED = "message.appended"
    MESSAGE_READ = "message.read"
    MESSAGE_FLAGS_CHANGED = "message.flags_changed"
    MESSAGE_COPIED = "message.copied"
    MESSAGE_MOVED = "message.moved"
    MESSAGE_EXPUNGED = "message.expunged"
    FOLDER_CREATED = "folder.created"
    FOLDER_RENAMED = "folder.renamed"
    FOLDER_DELETED = "folder.deleted"
    # submission and policy
    MESSAGE_ACCEPTED = "message.accepted"
    MESSAGE_REFUSED = "message.refused"
    MESSAGE_RETRIED = "message.retried"  # a retry of an accepted message: not delivered again
    MESSAGE_QUEUED = "message.queued"
    MESSAGE_RELAYED = "message.relayed"
    MESSAGE_BOUNCED = "message.bounced"
    MESSAGE_DEFERRED = "message.deferred"
    DSN_SENT = "dsn.sent"
    CONVERSATION_OPENED = "conversation.opened"
    CONVERSATION_ENDED = "conversation.ended"
    CONVERSATION_CONTACT_SET = "conversation.contact_set"
    # identities and access
    AUTH_SUCCEEDED = "auth.succeeded"
    AUTH_FAILED = "auth.failed"
    AUTH_RATE_LIMITED = "auth.rate_limited"
    PEER_REFUSED = "peer.refused"
    CERT_REFUSED = "cert.refused"
    CERT_ISSUED = "cert.issued"
    CERT_REVOKED = "cert.revoked"
    MAILBOX_CREATED = "mailbox.created"
    MAILBOX_DISABLED = "mailbox.disabled"
    MEMBER_ADDED = "member.added"
    MEMBER_REMOVED = "member.removed"
    PASSWORD_SET = "password.set"
    PATIENT_STATE_CHANGED = "patient.state_changed"
    TRUST_LIST_IMPORTED = "trust_list.imported"
    TRUST_LIST_REFUSED = "trust_list.refused"
    DIRECTORY_IMPORTED = "directory.imported"
    # vault
    DOCUMENT_DEPOSITED = "document.deposited"
    DOCUMENT_REJECTED = "document.rejected"
    DOCUMENT_LISTED = "document.listed"
    DOCUMENT_READ = "document.read"
    DOCUMENT_DOWNLOADED = "document.downloaded"
    DOCUMENT_UPLOADED = "document.uploaded"
    DOCUMENT_HIDDEN = "document.hidden"
    DOCUMENT_DELETED = "document.deleted"
    BREAK_GLASS = "document.break_glass"
    ACKNOWLEDGEMENT_WITHHELD = "acknowledgement.withheld"  # RFC 8098 §2.1
    # operations
    SERVER_STARTED = "server.started"
    SERVER_STOPPED = "server.stopped"
    BACKUP_TAKEN = "backup.taken"
    # logged and counted, not audited (sessions come and go by the thousand)
    SESSION_OPENED = "session.opened"
    SESSION_TLS = "session.tls"
    SESSION_CLOSED = "session.closed"
    TLS_FAILED = "tls.failed"
    PROXY_REFUSED = "proxy.refused"  # a PROXY header not believed (mss.proxy_protocol)
    AUDIT_CHECKPOINT = "audit.checkpoint"  # a signed checkpoint of the chain head written
    AUTH_LOGGED_OUT = "auth.logged_out"
    # patient notices: audited, so that `mss trace` follows a message to its notice
    NOTICE_QUEUED = "notice.queued"
    NOTICE_SENT = "notice.sent"
    NOTICE_FAILED = "notice.failed"


class AuditOutcome(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"
    ERROR = "error"
