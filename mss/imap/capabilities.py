"""Capability names (RFC 3501 §7.2.1 and extensions), defined once (docs/architecture.md §8.4)."""

from __future__ import annotations

from enum import StrEnum


class Capability(StrEnum):
    """Capabilities this IMAP core can parse; the server advertises a subset."""

    IMAP4REV1 = "IMAP4rev1"
    IMAP4REV2 = "IMAP4rev2"  # RFC 9051, switched on by ENABLE IMAP4rev2
    STARTTLS = "STARTTLS"  # RFC 3501 §6.2.1
    LOGINDISABLED = "LOGINDISABLED"  # RFC 3501 §6.2.3
    AUTH_PLAIN = "AUTH=PLAIN"  # RFC 4616
    AUTH_XOAUTH2 = "AUTH=XOAUTH2"  # Google XOAUTH2, used by Pro Santé Connect clients
    AUTH_OAUTHBEARER = "AUTH=OAUTHBEARER"  # RFC 7628
    AUTH_EXTERNAL = "AUTH=EXTERNAL"  # RFC 4422 appendix A (client certificates)
    SASL_IR = "SASL-IR"  # RFC 4959
    LITERAL_PLUS = "LITERAL+"  # RFC 7888
    LITERAL_MINUS = "LITERAL-"  # RFC 7888
    ID = "ID"  # RFC 2971
    IDLE = "IDLE"  # RFC 2177
    ENABLE = "ENABLE"  # RFC 5161
    UNSELECT = "UNSELECT"  # RFC 3691
    NAMESPACE = "NAMESPACE"  # RFC 2342
    UIDPLUS = "UIDPLUS"  # RFC 4315
    MOVE = "MOVE"  # RFC 6851
    CONDSTORE = "CONDSTORE"  # RFC 7162
    QRESYNC = "QRESYNC"  # RFC 7162 §3.2
    LIST_EXTENDED = "LIST-EXTENDED"  # RFC 5258
    LIST_STATUS = "LIST-STATUS"  # RFC 5819
    SPECIAL_USE = "SPECIAL-USE"  # RFC 6154
    CHILDREN = "CHILDREN"  # RFC 3348
    ESEARCH = "ESEARCH"  # RFC 4731
    BINARY = "BINARY"  # RFC 3516
    QUOTA = "QUOTA"  # RFC 9208
    QUOTA_STORAGE = "QUOTA=RES-STORAGE"  # RFC 9208 §5.1
    ACL = "ACL"  # RFC 4314
    RIGHTS_TEKX = "RIGHTS=tekx"  # RFC 4314 §2.1.1
    STATUS_SIZE = "STATUS=SIZE"  # RFC 8438
    MULTIAPPEND = "MULTIAPPEND"  # RFC 3502
    OBJECTID = "OBJECTID"  # RFC 8474
    UNAUTHENTICATE = "UNAUTHENTICATE"  # RFC 8437
    COMPRESS_DEFLATE = "COMPRESS=DEFLATE"  # RFC 4978
    SORT = "SORT"  # RFC 5256
    ESORT = "ESORT"  # RFC 5267
    THREAD_REFERENCES = "THREAD=REFERENCES"  # RFC 5256
    THREAD_ORDEREDSUBJECT = "THREAD=ORDEREDSUBJECT"  # RFC 5256
    SEARCHRES = "SEARCHRES"  # RFC 5182
    CATENATE = "CATENATE"  # RFC 4469
    NOTIFY = "NOTIFY"  # RFC 5465
    SAVEDATE = "SAVEDATE"  # RFC 8514
    CONTEXT_SEARCH = "CONTEXT=SEARCH"  # RFC 5267 §4
    CONTEXT_SORT = "CONTEXT=SORT"  # RFC 5267 §4


BASE_CAPABILITIES: tuple[Capability, ...] = (
    Capability.IMAP4REV1,
    Capability.IMAP4REV2,
    Capability.LITERAL_PLUS,
    Capability.SASL_IR,
    Capability.ID,
    Capability.IDLE,
    Capability.ENABLE,
    Capability.UNSELECT,
    Capability.NAMESPACE,
    Capability.UIDPLUS,
    Capability.MOVE,
    Capability.CONDSTORE,
    Capability.QRESYNC,
    Capability.LIST_EXTENDED,
    Capability.LIST_STATUS,
    Capability.SPECIAL_USE,
    Capability.CHILDREN,
    Capability.BINARY,
)
"""What a logged-in session advertises once the store supports each of them."""

ENABLEABLE = frozenset({Capability.CONDSTORE, Capability.QRESYNC, Capability.IMAP4REV2})
"""Capabilities that ENABLE may switch on here (RFC 5161 §3.1)."""
