"""Which sign-in methods each kind of mailbox accepts (settings `[auth]`).

docs/architecture.md §9: in the real trust space PER and ORG mailboxes sign in with a Pro Santé
Connect token and APP mailboxes with a client certificate; passwords are the embedded
default of MSS. Every listener asks here before it accepts a principal, and a refusal is
the listener's uniform authentication failure (no hint that the password was right).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from mss.config import AuthSettings, auth_methods
from mss.identity import MailboxKind, Principal, PrincipalKind


class AuthMethod(enum.StrEnum):
    PASSWORD = "password"  # argon2id (mss.directory.authentication)
    OIDC = "oidc"  # an OpenID Connect token (mss.oidc)
    CERTIFICATE = "certificate"  # a TLS client certificate bound to the mailbox
    TOKEN = "token"  # a bearer token of the HTTP API (mss.directory.api_tokens)


_KIND_KEYS = {MailboxKind.PER: "per", MailboxKind.ORG: "org", MailboxKind.APP: "app",
              MailboxKind.PAT: "pat"}
_OWN_KIND = {PrincipalKind.PROFESSIONAL: MailboxKind.PER,
             PrincipalKind.APPLICATION: MailboxKind.APP,
             PrincipalKind.PATIENT: MailboxKind.PAT}


def method_allowed(auth: AuthSettings, kind: MailboxKind, method: AuthMethod) -> bool:
    return method.value in auth_methods(getattr(auth, _KIND_KEYS[kind]))


def own_mailbox_kind(principal: Principal) -> MailboxKind | None:
    """The kind of the mailbox a principal owns (PER, APP or PAT)."""
    return _OWN_KIND.get(principal.kind)


def kinds_allow(auth: AuthSettings, kinds: Iterable[MailboxKind | None],
                method: AuthMethod) -> bool:
    """The rule: `method` must be allowed for every mailbox involved, the one whose
    credential is used and the one acted on (an ORG mailbox named as authorisation
    identity, docs/architecture.md §3). No known kind: refused."""
    known = [kind for kind in kinds if kind is not None]
    return bool(known) and all(method_allowed(auth, kind, method) for kind in known)


def principal_allows(auth: AuthSettings, principal: Principal, method: AuthMethod, *,
                     credential_mailbox: str | None) -> bool:
    """For a principal found from a credential bound to `credential_mailbox` (a password,
    a certificate, an API token): its own kind, plus ORG when it acts on another mailbox."""
    kinds = [own_mailbox_kind(principal)]
    if principal.mailbox and principal.mailbox != (credential_mailbox or "").lower():
        kinds.append(MailboxKind.ORG)
    return kinds_allow(auth, kinds, method)
