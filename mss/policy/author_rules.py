"""MSS policy T4: the author a message names is the one who sent it (DESIGN §4).

Decided after DATA, on the From and Sender fields (RFC 5322 §3.6.2), for every entry
path: submission (password, bearer token, application certificate), webmail and API
(`decide_author`), and mail from a peer operator (`decide_peer_author`).

MSS choices (docs/sender-truth.md):
- a missing From is added from the MAIL FROM the principal was allowed (T2), as
  RFC 6409 §8.1 lets a submission server do;
- a message written for an ORG mailbox, or for several authors, must say who sent it:
  a Sender naming someone else is refused, a missing Sender is added with the
  member's own mailbox (truthful, and mail clients writing for an identity omit it);
- every address written in those fields counts, display names and comments included:
  `"dr.alice.martin@..." <dr.bruno.petit@...>` names Alice to most readers.
"""

from __future__ import annotations

from mss.identity import PrincipalKind
from mss.policy.addresses import canonical_address, domain_of
from mss.policy.codes import Cause
from mss.policy.facts import ActingRights, AuthorCompletion, AuthorFields, TrustList
from mss.policy.refusals import accepted_at_mail, refusal
from mss.policy.verdict import Verdict


def decide_author(rights: ActingRights, fields: AuthorFields, mail_from: str
                  ) -> AuthorCompletion:
    """T4 on submission: every From, Sender (and mentioned) address is one the principal
    may send as; an ORG or several authors need a Sender naming the principal's own
    mailbox. MSS's own messages (DSN, MDN: the SYSTEM principal) are written by MSS."""
    if rights.principal.kind is PrincipalKind.SYSTEM:
        return AuthorCompletion(accepted_at_mail())
    if not fields.well_formed:
        return AuthorCompletion(refusal(Cause.AUTHOR_UNREADABLE))
    claimed = (*fields.from_addresses, *fields.sender_addresses, *fields.mentioned)
    for address in claimed:
        if not rights.may_send_as(address):
            return AuthorCompletion(refusal(Cause.AUTHOR_NOT_ALLOWED, name=address))
    own = {canonical_address(a) for a in rights.own_mailboxes}
    add_from = None
    authors = {canonical_address(a) for a in fields.from_addresses}
    if not fields.from_fields:
        add_from = canonical_address(mail_from) or canonical_address(
            rights.principal.mailbox or "")
        if not rights.may_send_as(add_from):
            return AuthorCompletion(refusal(Cause.AUTHOR_NOT_ALLOWED, name=add_from))
        authors = {add_from}
    if len(authors) <= 1 and authors <= own:
        return AuthorCompletion(accepted_at_mail(), add_from)
    if fields.sender_fields:
        if all(canonical_address(a) in own for a in fields.sender_addresses):
            return AuthorCompletion(accepted_at_mail(), add_from)
        return AuthorCompletion(refusal(Cause.SENDER_NOT_MEMBER))
    member = _own_mailbox(rights, own, mail_from)
    if member is None:
        if len(authors) > 1:
            return AuthorCompletion(refusal(Cause.SENDER_NOT_MEMBER))
        return AuthorCompletion(accepted_at_mail(), add_from)  # no mailbox of their own
    return AuthorCompletion(accepted_at_mail(), add_from, member)


def _own_mailbox(rights: ActingRights, own: set[str], mail_from: str) -> str | None:
    """The principal's own mailbox for a Sender field: the one logged in to or used as
    MAIL FROM when it is theirs, else the first of their own (stable)."""
    for candidate in (rights.principal.mailbox or "", mail_from):
        if canonical_address(candidate) in own:
            return canonical_address(candidate)
    return min(own) if own else None


def decide_peer_author(subject_dn: str | None, fields: AuthorFields, mail_from: str,
                       trust_list: TrustList) -> Verdict:
    """T4 on the MX: every From and Sender domain is one the peer's trust-list entry
    covers (the data of T1). A message without From is the peer's responsibility and
    passes (RFC 5322 requires one, Postfix accepts it). For a bounce (null MAIL FROM)
    a subdomain of a covered domain that no entry lists is covered too: a peer's
    DSNs come from `MAILER-DAEMON@<its MX host>`."""
    if not fields.well_formed:
        return refusal(Cause.AUTHOR_UNREADABLE)
    for address in (*fields.from_addresses, *fields.sender_addresses):
        if not _covers(subject_dn, domain_of(address), trust_list,
                       bounce=not canonical_address(mail_from)):
            return refusal(Cause.PEER_AUTHOR_NOT_LISTED, name=address)
    return accepted_at_mail()


def _covers(subject_dn: str | None, domain: str, trust_list: TrustList, *,
            bounce: bool) -> bool:
    if subject_dn is None or not domain:
        return False
    if trust_list.lists(domain, subject_dn):
        return True
    if not bounce or trust_list.is_trusted(domain):
        return False
    labels = domain.split(".")
    return any(trust_list.lists(".".join(labels[i:]), subject_dn)
               for i in range(1, len(labels) - 1))
