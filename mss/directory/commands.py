"""`mss mailbox|patient|org|password|directory|trust|operator ...` commands.

Each command opens the existing store (`mss init` made it), does one thing, prints a short
result and returns 0; problems the operator can fix end as `mss.cli.UserError`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from mss.cli import UserError, settings_from_args
from mss.config import Settings
from mss.directory.directory_search import DirectoryQuery, search_directory
from mss.directory.errors import DirectoryError
from mss.directory.identifiers import InvalidIdentifier
from mss.directory.mailbox_accounts import (
    ProfessionalIdentity,
    bind_app_certificate,
    create_app_mailbox,
    create_org_mailbox,
    create_patient_mailbox,
    create_per_mailbox,
    disable_mailbox,
    list_mailboxes,
    show_mailbox,
    unbind_app_certificate,
)
from mss.directory.national_extract import ExtractHeaderError
from mss.directory.national_import import import_extract
from mss.directory.operators import (
    add_operator_dkim_key,
    operator_dkim_keys,
    operator_endpoint,
    parse_host_port,
    set_operator_endpoint,
)
from mss.directory.org_members import parse_rights, remove_org_member, rights_text, set_org_member
from mss.directory.passwords import set_password
from mss.directory.patients import set_patient_state
from mss.directory.pharmacies import record_dispensation
from mss.directory.trust_list import TrustListError, parse_trust_list
from mss.directory.trust_store import (
    current_trust_list,
    import_trust_list,
    older_than_in_force,
    trusted_dns,
)
from mss.identity import MailboxKind, PatientSpaceState, Principal, PrincipalKind
from mss.store.store import Store

CLI = Principal(PrincipalKind.SYSTEM, "cli", "mss command line")
_USER_ERRORS = (DirectoryError, InvalidIdentifier, TrustListError, ExtractHeaderError)


def _with_store(args: argparse.Namespace, work: Callable[[Store], Awaitable[int]]) -> int:
    settings = settings_from_args(args)

    async def main() -> int:
        store = await Store.open(settings)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except _USER_ERRORS as exc:
        raise UserError(str(exc)) from None


def _read_password(prompt_twice: bool = True) -> str:
    """From stdin when it is not a terminal (scripts), else asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if prompt_twice and getpass.getpass("Again: ") != first:
        raise UserError("the two passwords differ")
    return first


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


# mailbox ---------------------------------------------------------------------------

def _check_professional_domain(settings: Settings, address: str) -> None:
    """PER, ORG and APP mailboxes live in the operator's domain; the patient domain holds
    only `<INS>@` patient mailboxes (`mss patient add`), docs/design-notes.md."""
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    own, patients = settings.server.domain.lower(), settings.server.patient_domain.lower()
    if domain == patients:
        raise UserError(f"{address}: {patients} is the patient domain; PER, ORG and APP "
                        f"mailboxes belong in {own} (patients: mss patient add)")
    if domain != own:
        raise UserError(f"{address}: {domain or 'no domain'} is not this operator's domain "
                        f"({own}, setting server.domain)")


def _mailbox_add(args: argparse.Namespace) -> int:
    kind = MailboxKind(args.kind)
    _check_professional_domain(settings_from_args(args), args.address)
    password = _read_password(prompt_twice=False) if args.password_stdin else None

    async def work(store: Store) -> int:
        if kind is MailboxKind.PER:
            if not args.rpps:
                raise UserError("a PER mailbox needs --rpps (RPPS or ADELI of its owner)")
            identity = ProfessionalIdentity(
                ident=args.rpps, last_name=args.last_name or args.name,
                first_name=args.first_name or "", profession_code=args.profession or "",
            )
            info = await create_per_mailbox(store, address=args.address, professional=identity,
                                            display_name=args.name,
                                            liste_rouge=args.liste_rouge, principal=CLI)
        elif kind is MailboxKind.ORG:
            info = await create_org_mailbox(store, address=args.address, display_name=args.name,
                                            structure_name=args.structure or "",
                                            liste_rouge=args.liste_rouge, principal=CLI)
        else:
            info = await create_app_mailbox(
                store, address=args.address, application_name=args.application or args.name,
                owner_structure=args.structure or "", certificate_dn=args.certificate_dn,
                responsible_address=args.responsible, display_name=args.name, principal=CLI,
            )
        if password is not None:
            await set_password(store, info.address, password, principal=CLI)
        print(f"created {info.kind.value} mailbox {info.address}")
        return 0

    return _with_store(args, work)


def _mailbox_list(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        kind = MailboxKind(args.kind) if args.kind else None
        for info in await list_mailboxes(store, kind=kind):
            flags = " disabled" if info.disabled else ""
            print(f"{info.kind.value} {info.address} {info.display_name}{flags}")
        return 0

    return _with_store(args, work)


def _mailbox_show(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        details = await show_mailbox(store, args.address)
        if details is None:
            raise UserError(f"no such mailbox: {args.address}")
        info = details.info
        print(f"address: {info.address}\nkind: {info.kind.value}\nname: {info.display_name}")
        print(f"disabled: {'yes' if info.disabled else 'no'}")
        print(f"liste rouge: {'yes' if info.liste_rouge else 'no'}")
        if details.owner:
            print(f"owner: {details.owner}")
        if details.patient_state is not None:
            print(f"patient space: {details.patient_state.value}")
        if details.responsible:
            print(f"responsible: {details.responsible}")
        for certificate in details.certificates:
            print(f"certificate: {certificate}")
        for member in details.members:
            print(f"member: {member.ident} {member.name} [{rights_text(member.rights)}]")
        return 0

    return _with_store(args, work)


def _mailbox_bind_certificate(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        dn = await bind_app_certificate(store, args.address, args.dn, principal=CLI)
        print(f"{args.address.lower()} acts under the certificate {dn}")
        return 0

    return _with_store(args, work)


def _mailbox_unbind_certificate(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        dn = await unbind_app_certificate(store, args.address, principal=CLI)
        print(f"{args.address.lower()}: certificate {dn} unbound" if dn else
              f"{args.address.lower()}: no certificate was bound")
        return 0

    return _with_store(args, work)


def _mailbox_disable(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        changed = await disable_mailbox(store, args.address, principal=CLI)
        print(f"{'disabled' if changed else 'already disabled'}: {args.address.lower()}")
        return 0

    return _with_store(args, work)


# patient, org, password --------------------------------------------------------------

def _patient_add(args: argparse.Namespace) -> int:
    try:
        birth = date.fromisoformat(args.birth_date)
    except ValueError:
        raise UserError(f"--birth-date must be YYYY-MM-DD: {args.birth_date!r}") from None

    async def work(store: Store) -> int:
        info = await create_patient_mailbox(
            store, ins=args.ins, first_name=args.first_name, last_name=args.last_name,
            birth_date=birth, notice_email=args.email, principal=CLI,
        )
        print(f"created PAT mailbox {info.address}")
        return 0

    return _with_store(args, work)


def _patient_set_state(args: argparse.Namespace) -> int:
    state = PatientSpaceState(args.state)

    async def work(store: Store) -> int:
        previous = await set_patient_state(store, args.ins, state, principal=CLI)
        print(f"patient {args.ins.upper()}: {previous.value} -> {state.value}")
        return 0

    return _with_store(args, work)


def _patient_dispensation(args: argparse.Namespace) -> int:
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        raise UserError(f"--date must be YYYY-MM-DD: {args.date!r}") from None

    async def work(store: Store) -> int:
        added = await record_dispensation(store, args.pharmacy, args.ins, day, principal=CLI)
        state = "recorded" if added else "already recorded"
        print(f"dispensation {state}: {args.pharmacy} to {args.ins.upper()} on {day}")
        return 0

    return _with_store(args, work)


def _org_add_member(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        rights = parse_rights(args.rights)
        await set_org_member(store, args.org, args.member, rights, principal=CLI)
        print(f"{args.member} on {args.org.lower()}: [{rights_text(rights)}]")
        return 0

    return _with_store(args, work)


def _org_remove_member(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        removed = await remove_org_member(store, args.org, args.member, principal=CLI)
        print(f"{'removed' if removed else 'not a member'}: {args.member}")
        return 0 if removed else 1

    return _with_store(args, work)


def _password_set(args: argparse.Namespace) -> int:
    password = _read_password()

    async def work(store: Store) -> int:
        await set_password(store, args.address, password, principal=CLI)
        print(f"password set for {args.address.lower()}")
        return 0

    return _with_store(args, work)


# national directory, trust list, operators ---------------------------------------------

def _directory_import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise UserError(f"cannot read {args.file}")

    async def work(store: Store) -> int:
        report = await import_extract(store, args.file, principal=CLI)
        print(report.encoding_note())
        for line in report.refusal_summary():
            print(line)
        print(report.summary())
        return 0

    return _with_store(args, work)


def _directory_search(args: argparse.Namespace) -> int:
    query = DirectoryQuery(name=args.name, rpps=args.rpps, profession_code=args.profession,
                           postcode=args.postcode, department=args.department,
                           kind=args.kind, limit=args.limit)

    async def work(store: Store) -> int:
        for entry in await search_directory(store, query):
            what = entry.profession_label or entry.structure_name
            print(f"{entry.kind} {entry.address} | {entry.display_name} | {what} | "
                  f"{entry.postcode} {entry.city}".rstrip())
        return 0

    return _with_store(args, work)


def _trust_import(args: argparse.Namespace) -> int:
    data = _read_file(args.file)

    async def work(store: Store) -> int:
        older = None
        if args.force:
            with contextlib.suppress(TrustListError):  # refused below, and audited there
                older = await older_than_in_force(store, parse_trust_list(data).generated_at)
        info = await import_trust_list(store, data, args.sha256, source=args.file.name,
                                       principal=CLI, allow_older=args.force)
        if older is not None:
            print(f"warning: installed a list generated {info.generated_at}, older than "
                  f"the one it replaces ({older.generated_at})", file=sys.stderr)
        print(f"trust list generated {info.generated_at or '?'} imported: "
              f"{info.entry_count} entries, {info.domain_count} domains, "
              f"{info.dn_count} operator DNs (sha256 {info.sha256})")
        return 0

    return _with_store(args, work)


def _trust_show(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        current = await current_trust_list(store)
        if current is None:
            raise UserError("no trust list imported yet (mss trust import FILE)")
        dns = sorted(await trusted_dns(store, args.domain))
        endpoint = await operator_endpoint(store, args.domain)
        keys = await operator_dkim_keys(store, args.domain)
        print(f"domain: {args.domain.lower()}")
        print(f"trusted: {'yes' if dns else 'no'} (list generated {current.generated_at}, "
              f"imported {current.imported_at:%Y-%m-%d %H:%M})")
        for dn in dns:
            print(f"operator DN: {dn}")
        if endpoint is not None:
            print(f"endpoint: {endpoint[0]}:{endpoint[1]}")
        for key in keys:
            print(f"dkim: {key.selector} {key.txt[:60]}")
        return 0 if dns else 1

    return _with_store(args, work)


def _operator_set_endpoint(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        host, port = parse_host_port(args.endpoint)
        await set_operator_endpoint(store, args.domain, host, port, principal=CLI)
        print(f"{args.domain.lower()} -> {host}:{port}")
        return 0

    return _with_store(args, work)


def _operator_add_dkim_key(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        await add_operator_dkim_key(store, args.domain, args.selector, args.txt, principal=CLI)
        print(f"dkim key {args.selector}._domainkey.{args.domain.lower()} set")
        return 0

    return _with_store(args, work)


# parser ----------------------------------------------------------------------------------

def _group(sub: Any, name: str, help_text: str) -> Any:
    parser = sub.add_parser(name, help=help_text)
    parser.set_defaults(handler=lambda _args, p=parser: (p.print_help(), 2)[1])
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")


def add_commands(sub: Any) -> None:
    mailbox = _group(sub, "mailbox", "professional mailboxes (PER, ORG, APP)")
    add = mailbox.add_parser("add", help="create a mailbox")
    add.add_argument("--kind", required=True, choices=["PER", "ORG", "APP"])
    add.add_argument("--address", required=True)
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--rpps", help="PER: RPPS or ADELI of the owner")
    add.add_argument("--first-name", help="PER: owner's first name")
    add.add_argument("--last-name", help="PER: owner's last name (default: --name)")
    add.add_argument("--profession", help="PER: profession code (10 médecin, 21, 60...)")
    add.add_argument("--structure", help="ORG/APP: legal person")
    add.add_argument("--application", help="APP: application name (default: --name)")
    add.add_argument("--certificate-dn", help="APP: subject DN of its client certificate")
    add.add_argument("--responsible", help="APP: mailbox that receives for it")
    add.add_argument("--liste-rouge", action="store_true", help="not published")
    add.add_argument("--password-stdin", action="store_true", help="read a password on stdin")
    add.set_defaults(handler=_mailbox_add)
    listing = mailbox.add_parser("list", help="list mailboxes")
    listing.add_argument("--kind", choices=[k.value for k in MailboxKind])
    listing.set_defaults(handler=_mailbox_list)
    show = mailbox.add_parser("show", help="show a mailbox, its owner and members")
    show.add_argument("address")
    show.set_defaults(handler=_mailbox_show)
    bind = mailbox.add_parser("bind-certificate",
                              help="APP: bind its application's client certificate")
    bind.add_argument("address")
    bind.add_argument("--dn", required=True, help="subject DN of the client certificate")
    bind.set_defaults(handler=_mailbox_bind_certificate)
    unbind = mailbox.add_parser("unbind-certificate", help="APP: remove that binding")
    unbind.add_argument("address")
    unbind.set_defaults(handler=_mailbox_unbind_certificate)
    disable = mailbox.add_parser("disable", help="disable a mailbox (data kept)")
    disable.add_argument("address")
    disable.set_defaults(handler=_mailbox_disable)

    patient = _group(sub, "patient", "patient mailboxes")
    padd = patient.add_parser("add", help="create a patient and their mailbox")
    padd.add_argument("--ins", required=True)
    padd.add_argument("--first-name", required=True)
    padd.add_argument("--last-name", required=True)
    padd.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    padd.add_argument("--email", required=True, help="personal address for notices")
    padd.set_defaults(handler=_patient_add)
    state = patient.add_parser("set-state", help="active, opposed or closed")
    state.add_argument("ins")
    state.add_argument("state", choices=[s.value for s in PatientSpaceState])
    state.set_defaults(handler=_patient_set_state)
    dispensed = patient.add_parser(
        "dispensation", help="record a reimbursed dispensation: the patient may then "
        "write to that pharmacy for a year")
    dispensed.add_argument("ins")
    dispensed.add_argument("--pharmacy", required=True,
                           help="the pharmacy's ORG mailbox (a pharmacist among its members)")
    dispensed.add_argument("--date", required=True, help="YYYY-MM-DD")
    dispensed.set_defaults(handler=_patient_dispensation)

    org = _group(sub, "org", "members of ORG mailboxes")
    member = org.add_parser("add-member", help="add a member or change their rights")
    member.add_argument("org")
    member.add_argument("member", help="RPPS/ADELI or PER address of the professional")
    member.add_argument("--rights", default="read", help="read,send_as,manage")
    member.set_defaults(handler=_org_add_member)
    remove = org.add_parser("remove-member", help="remove a member")
    remove.add_argument("org")
    remove.add_argument("member")
    remove.set_defaults(handler=_org_remove_member)

    password = _group(sub, "password", "login passwords")
    pset = password.add_parser("set", help="set a password (stdin when not a terminal)")
    pset.add_argument("address")
    pset.set_defaults(handler=_password_set)

    directory = _group(sub, "directory", "national directory copy")
    dimport = directory.add_parser("import", help="import an extract (| separated)")
    dimport.add_argument("file", type=Path)
    dimport.set_defaults(handler=_directory_import)
    search = directory.add_parser("search", help="search the directory")
    search.add_argument("--name", help="prefix of the name (accents and case ignored)")
    search.add_argument("--rpps")
    search.add_argument("--profession", help="profession code")
    search.add_argument("--postcode", help="postcode or its prefix")
    search.add_argument("--department")
    search.add_argument("--kind", choices=["PER", "ORG", "APP", "CAB"])
    search.add_argument("--limit", type=int, default=50)
    search.set_defaults(handler=_directory_search)

    trust = _group(sub, "trust", "trust list of operators")
    timport = trust.add_parser("import", help="replace the trust list")
    timport.add_argument("file", type=Path)
    timport.add_argument("--sha256", help="expected SHA-256 of the file")
    timport.add_argument("--force", action="store_true",
                         help="install it even when older than the list in force")
    timport.set_defaults(handler=_trust_import)
    tshow = trust.add_parser("show", help="operators trusted for a domain")
    tshow.add_argument("domain")
    tshow.set_defaults(handler=_trust_show)

    operator = _group(sub, "operator", "local configuration of peer operators")
    endpoint = operator.add_parser("set-endpoint", help="where to deliver for a domain")
    endpoint.add_argument("domain")
    endpoint.add_argument("endpoint", metavar="HOST:PORT")
    endpoint.set_defaults(handler=_operator_set_endpoint)
    dkim = operator.add_parser("add-dkim-key", help="a peer's DKIM key record")
    dkim.add_argument("domain")
    dkim.add_argument("selector")
    dkim.add_argument("txt")
    dkim.set_defaults(handler=_operator_add_dkim_key)
