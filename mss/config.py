"""Typed settings for MSS: one model, read from a TOML file and `MSS_*` variables.

Every field carries its documentation in its metadata so that `mss config example`
prints a commented file generated from this very model (docs/architecture.md §8.6), and loading
reports every problem at once, each with the file and key, instead of stopping at the first.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path("./mss-data")
PORT_OFFSET = 10000  # docs/architecture.md §7: embedded listeners sit at 10000 + the standard port


MAX_PROCESSES = 64  # smtp.mx_processes, imap.processes


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow)."""
    return max(1, len(os.sched_getaffinity(0)))


def process_count(configured: int) -> int:
    """`smtp.mx_processes` / `imap.processes` as run: 0 means one per core."""
    return configured if configured > 0 else min(cores(), MAX_PROCESSES)


def _doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass
class ListenerSettings:
    enabled: bool = _doc("Start this listener.", default=True)
    host: str = _doc("Address to bind.", default="127.0.0.1")
    port: int = _doc("TCP port to bind (0 picks a free port).", default=0)


def _listener(port: int, doc: str) -> Any:
    return field(
        default_factory=lambda: ListenerSettings(port=PORT_OFFSET + port),
        metadata={"doc": doc},
    )


@dataclass
class ListenersSettings:
    proxy_trusted_networks: str = _doc(
        "Load balancers allowed to send the PROXY protocol (v1 or v2) header on the SMTP "
        "and IMAP listeners, and X-Forwarded-For on the HTTP one: addresses or networks "
        "separated by spaces or commas (\"10.0.0.0/8 192.0.2.7\"). A header from any "
        "other address closes the connection. Empty: no load balancer.", default="")
    proxy_required: bool = _doc(
        "Peers in proxy_trusted_networks must send the PROXY header (else closed); false: "
        "one that sends nothing within proxy_timeout_seconds is served as itself.",
        default=True)
    proxy_timeout_seconds: int = _doc(
        "Seconds a trusted peer has to send its PROXY header.", default=10)
    mx: ListenerSettings = _listener(25, "Inbound MX between operators (mutual TLS).")
    submission: ListenerSettings = _listener(587, "Message submission with STARTTLS.")
    submissions: ListenerSettings = _listener(465, "Message submission over implicit TLS.")
    imap: ListenerSettings = _listener(143, "IMAP with STARTTLS.")
    imaps: ListenerSettings = _listener(993, "IMAP over implicit TLS.")
    # 10081, not 10000 + 80: browsers refuse port 10080 (on their list of unsafe ports)
    http: ListenerSettings = _listener(81, "Webmail, HTTP API and autoconfig.")
    admin: ListenerSettings = _listener(
        82, "Operators' /health (database checked) and /metrics (Prometheus): keep it on "
        "loopback or a management network, never public.")


@dataclass
class ServerSettings:
    hostname: str = _doc(
        "Host name of this operator's servers: in its certificate, banners and Received.",
        default="mss.localhost",
    )
    domain: str = _doc("Mail domain of professional mailboxes.", default="mss.localhost")
    patient_domain: str = _doc(
        "Mail domain of patient mailboxes (`<INS>@patient.<domain>` in the real space).",
        default="patient.mss.localhost",
    )
    node_id: str = _doc("Name of this node in logs and metrics (empty: host name).", default="")


@dataclass
class DatabaseSettings:
    url: str = _doc(
        "SQLAlchemy async URL. Empty: SQLite file `mss.db` in the data folder. "
        "Several nodes: postgresql+asyncpg://user@host/db.",
        default="",
    )
    sqlite_synchronous: str = _doc(
        "SQLite `PRAGMA synchronous` (FULL keeps a 250 durable across power loss).",
        default="FULL",
    )


@dataclass
class StoreSettings:
    blob_dir: str = _doc(
        "Folder of encrypted blobs. Empty: `blobs/` in the data folder.", default=""
    )
    blob_backend: str = _doc(
        "Where message and document blobs live: `files` (in blob_dir) or `database` "
        "(sealed the same way, in the database: several nodes then share nothing but "
        "the database).", default="files",
    )
    master_key_file: str = _doc(
        "Operator master key (32 random bytes, hex). Empty: `master.key` in the data folder.",
        default="",
    )
    audit_checkpoint_file: str = _doc(
        "This node's signed checkpoints of the audit chain head, kept outside the "
        "database (docs/audit.md). Empty: `audit-checkpoints.jsonl` in the data folder.",
        default="",
    )
    audit_checkpoint_seconds: int = _doc(
        "Seconds between two checkpoints of the audit chain head: rows deleted from the "
        "end of the chain go unnoticed for at most this long.", default=60,
    )


@dataclass
class LimitSettings:
    max_message_bytes: int = _doc("Largest message accepted (bytes).", default=50 * 1024 * 1024)
    max_patient_message_bytes: int = _doc(
        "Largest message accepted towards a patient (bytes, MSS policy S1).",
        default=25 * 1024 * 1024,
    )
    max_recipients: int = _doc("Recipients per message.", default=100)
    retry_window_hours: int = _doc(
        "A message sent again within this many hours by the same sender, with the same "
        "envelope sender, Message-ID and content, is a retry (a lost 250): answered as "
        "accepted, not delivered twice (RFC 5321 §4.5.4.1 gives up after 4-5 days).",
        default=120)


@dataclass
class SmtpSettings:
    connections_per_address: int = _doc(
        "Simultaneous SMTP connections from one client address.", default=50)
    errors_per_session: int = _doc("Error replies before the session is closed.", default=20)
    idle_timeout_seconds: int = _doc(
        "Idle time before an SMTP session is closed (RFC 5321 §4.5.3.2.7).", default=300)
    dkim_selector: str = _doc("DKIM selector of this operator's Ed25519 key.", default="mss")
    dkim_rsa_selector: str = _doc("DKIM selector of this operator's RSA key.", default="mss-rsa")
    queue_expiry_hours: int = _doc(
        "How long a message is retried before it bounces.", default=5 * 24)
    retry_first_delay_seconds: int = _doc("First retry delay (doubles each time).", default=60)
    retry_max_delay_seconds: int = _doc("Longest delay between retries.", default=3600)
    relay_timeout_seconds: int = _doc("Timeout of one exchange with a peer.", default=60)
    mx_processes: int = _doc(
        "Processes accepting MX sessions on the one MX port (SO_REUSEPORT): more than "
        "one spreads TLS, parsing and policy over several cores. 0: one per core.",
        default=0)


@dataclass
class ImapSettings:
    processes: int = _doc(
        "Processes serving IMAP sessions on the IMAP ports (SO_REUSEPORT); IDLE and "
        "change events reach every one of them. 0: one per core.", default=0)


@dataclass
class NotifySettings:
    relay_host: str = _doc(
        "Outside SMTP relay for patient notices (empty: notices wait in the queue).",
        default="")
    relay_port: int = _doc("Port of the relay.", default=587)
    relay_tls: str = _doc("starttls, implicit or none.", default="starttls")
    relay_username: str = _doc("Login at the relay (empty: no AUTH).", default="")
    relay_password: str = _doc("Password at the relay.", default="")
    relay_ca_file: str = _doc("Extra CA file to trust for the relay.", default="")
    sender: str = _doc("From address of notices (empty: ne-pas-repondre@<domain>).",
                       default="")
    webmail_url: str = _doc("Link in notices (empty: http://<hostname>:<http port>/).",
                            default="")


@dataclass
class WebmailSettings:
    secure_cookies: bool = _doc(
        "Mark cookies Secure on plain http too (behind a TLS proxy); always on https.",
        default=False)
    session_idle_minutes: int = _doc("A web session ends after this idle time.", default=30)
    session_absolute_hours: int = _doc("A web session ends after this time anyway.",
                                       default=12)


@dataclass
class VaultSettings:
    access_matrix: str = _doc(
        "TOML file replacing the packaged access matrix of professions × documents "
        "(empty: mss/vault/access_matrix.toml; format in docs/vault.md).", default="")


@dataclass
class OidcProviderSettings:
    issuer: str = _doc(
        "Issuer URL; its metadata is read from <issuer>/.well-known/openid-configuration "
        "(OpenID Connect Discovery 1.0 §4) and must name this very issuer.", default="")
    label: str = _doc("Name on the webmail button.", default="Pro Santé Connect")
    audience: str = _doc(
        "Expected `aud` of access tokens presented to IMAP and SMTP (SASL XOAUTH2, "
        "OAUTHBEARER); empty: the client id.", default="")
    client_id: str = _doc(
        "Client id of the webmail at the provider (empty: no web sign-in with it).",
        default="")
    client_secret: str = _doc(
        "Client secret of the webmail (empty: a public client, PKCE only).", default="")
    scopes: str = _doc("Scopes asked by the webmail (space-separated).",
                       default="openid scope_all")
    jwks_file: str = _doc(
        "Local JWKS file for closed networks (empty: the jwks_uri of the metadata).",
        default="")
    rpps_claim: str = _doc(
        "Claim carrying the professional's national id (RPPS, or 8 + RPPS).",
        default="SubjectNameID")
    clock_skew_seconds: int = _doc("Clock difference allowed on exp, nbf and iat.",
                                   default=60)


@dataclass
class OidcSettings:
    providers: dict[str, OidcProviderSettings] = _doc(
        "OpenID Connect providers, one table each: [oidc.providers.<name>].",
        default_factory=dict)
    web_provider: str = _doc(
        "Provider of the webmail button (empty: the first with a client id).", default="")
    metadata_cache_seconds: int = _doc(
        "How long the provider metadata and its keys (JWKS) are kept before a new fetch.",
        default=3600)
    fetch_timeout_seconds: int = _doc("Timeout of one request to a provider.", default=10)


AUTH_METHODS = ("password", "oidc", "certificate", "token")
AUTH_METHODS_BY_KIND = {
    "per": ("password", "oidc", "certificate"),
    "org": ("password", "oidc", "certificate"),
    "app": ("password", "certificate", "token"),
    "pat": ("password",),
}


@dataclass
class AuthSettings:
    """Sign-in methods per mailbox kind, enforced on every listener (comma-separated:
    password, oidc, certificate, token). The embedded default allows passwords."""

    per: str = _doc("Nominative (PER) mailboxes: password, oidc, certificate.",
                    default="password,oidc,certificate")
    org: str = _doc("Organisational (ORG) mailboxes, for members acting on them.",
                    default="password,oidc,certificate")
    app: str = _doc("Applicative (APP) mailboxes: password, certificate, token (HTTP API).",
                    default="password,certificate,token")
    pat: str = _doc("Patient mailboxes: password.", default="password")
    password_cache_seconds: int = _doc(
        "Seconds a password verified by argon2id is confirmed from a keyed in-memory digest "
        "(clients that log in again and again skip the hash); a wrong or changed password "
        "never matches it; 0 turns the cache off.", default=3600)


STALE_CRL_POLICIES = ("refuse", "accept")


@dataclass
class TrustSettings:
    """How revocations reach the listeners while they run (docs/design-notes.md, live
    trust): a "crl" event makes every process reload at once; the CRL file is also
    checked for changes every `crl_check_seconds`. With several nodes the PKI files
    travel through the database (mss.store.node_file_sync) every `node_files_seconds`."""

    crl_check_seconds: int = _doc(
        "Seconds between two checks of the CRL file for changes (the bound when no "
        "event arrives).", default=1)
    stale_crl: str = _doc(
        "A client certificate whose issuer's CRL has expired or is missing: refuse "
        "(default) or accept (counted in mss_crl_stale_accepted_total, logged).",
        default="refuse")
    node_files_seconds: int = _doc(
        "Several nodes (PostgreSQL): seconds between two passes that bring this node's "
        "PKI and DKIM files and the database in step, the newest winning (a revocation "
        "or a renewed certificate on another node; a \"crl\" event starts one at once).",
        default=10)


@dataclass
class LoggingSettings:
    format: str = _doc(
        "Log lines: `logfmt` (key=value, one line per event, docs/logging.md) or `json` "
        "(one object per line, same fields).", default="logfmt")


@dataclass
class Settings:
    data_dir: Path = _doc(
        "Data folder: database, blobs, keys, certificates.", default=DEFAULT_DATA_DIR
    )
    server: ServerSettings = _doc("Identity of this operator.", default_factory=ServerSettings)
    database: DatabaseSettings = _doc("Database.", default_factory=DatabaseSettings)
    store: StoreSettings = _doc("Message store.", default_factory=StoreSettings)
    listeners: ListenersSettings = _doc("Network listeners.", default_factory=ListenersSettings)
    limits: LimitSettings = _doc("Size and count limits.", default_factory=LimitSettings)
    smtp: SmtpSettings = _doc("SMTP listeners and outbound queue.", default_factory=SmtpSettings)
    imap: ImapSettings = _doc("IMAP sessions.", default_factory=ImapSettings)
    notify: NotifySettings = _doc("Patient notices by e-mail.", default_factory=NotifySettings)
    webmail: WebmailSettings = _doc("Webmail sessions and cookies.",
                                    default_factory=WebmailSettings)
    vault: VaultSettings = _doc("Patient documents: who may read what.",
                                default_factory=VaultSettings)
    oidc: OidcSettings = _doc("OpenID Connect providers (Pro Santé Connect).",
                              default_factory=OidcSettings)
    auth: AuthSettings = _doc("Sign-in methods allowed per mailbox kind.",
                              default_factory=AuthSettings)
    logging: LoggingSettings = _doc("Log lines (format).", default_factory=LoggingSettings)
    trust: TrustSettings = _doc("Revocation checks of client certificates.",
                                default_factory=TrustSettings)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{(self.data_dir / 'mss.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return Path(self.store.blob_dir) if self.store.blob_dir else self.data_dir / "blobs"

    @property
    def master_key_path(self) -> Path:
        if self.store.master_key_file:
            return Path(self.store.master_key_file)
        return self.data_dir / "master.key"

    @property
    def audit_checkpoint_path(self) -> Path:
        if self.store.audit_checkpoint_file:
            return Path(self.store.audit_checkpoint_file)
        return self.data_dir / "audit-checkpoints.jsonl"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(Exception):
    """All the problems found while loading settings, reported together."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _coerce(value: Any, kind: Any, where: str, problems: list[str]) -> Any:
    """Convert a TOML or environment value to the field's type, or record why not."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is Path and isinstance(value, str | Path):
        return Path(value)
    problems.append(f"{where}: expected {kind.__name__}, got {value!r}")
    return None


def _apply(obj: Any, data: dict[str, Any], prefix: str, source: str, problems: list[str]) -> None:
    hints = typing.get_type_hints(type(obj))
    known = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in data.items():
        where = f"{source}: {prefix}{key}"
        if key not in known:
            problems.append(f"{where}: unknown setting")
            continue
        kind = hints[key]
        if typing.get_origin(kind) is dict:
            _apply_tables(getattr(obj, key), typing.get_args(kind)[1], value, f"{prefix}{key}.",
                          source, problems)
            continue
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                problems.append(f"{where}: expected a table")
                continue
            _apply(getattr(obj, key), value, f"{prefix}{key}.", source, problems)
            continue
        converted = _coerce(value, kind, where, problems)
        if converted is not None:
            setattr(obj, key, converted)


def _apply_tables(tables: dict[str, Any], kind: Any, data: Any, prefix: str, source: str,
                  problems: list[str]) -> None:
    """A table of named tables, e.g. [oidc.providers.<name>]."""
    if not isinstance(data, dict):
        problems.append(f"{source}: {prefix[:-1]}: expected a table")
        return
    for name, value in data.items():
        if not isinstance(value, dict):
            problems.append(f"{source}: {prefix}{name}: expected a table")
            continue
        _apply(tables.setdefault(name, kind()), value, f"{prefix}{name}.", source, problems)


# MSS_* variables that are not settings: the master key `mss node join` may take from
# the environment (never a setting: it would show in `mss config check`)
NOT_SETTINGS = frozenset({"MSS_MASTER_KEY"})


def _env_tree(environ: typing.Mapping[str, str]) -> dict[str, Any]:
    """`MSS_DATA_DIR` → data_dir; `MSS_DATABASE__URL` → database.url (double underscore nests)."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("MSS_") or name.startswith("MSS_TEST_") or name in NOT_SETTINGS:
            continue
        path = name[4:].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def load_settings(
    path: Path | None = None,
    environ: typing.Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then `MSS_*` variables, then explicit overrides."""
    settings = Settings()
    problems: list[str] = []
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
        _apply(settings, data, "", str(path), problems)
    env = _env_tree(os.environ if environ is None else environ)
    if env:
        _apply(settings, env, "", "environment MSS_*", problems)
    if overrides:
        _apply(settings, overrides, "", "command line", problems)
    _validate(settings, problems)
    if problems:
        raise ConfigError(problems)
    return settings


def _validate(settings: Settings, problems: list[str]) -> None:
    for f in dataclasses.fields(settings.listeners):
        listener = getattr(settings.listeners, f.name)
        if not isinstance(listener, ListenerSettings):
            continue
        if not 0 <= listener.port <= 65535:
            problems.append(f"listeners.{f.name}.port: {listener.port} is not a TCP port")
    for item in settings.listeners.proxy_trusted_networks.replace(",", " ").split():
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(f"listeners.proxy_trusted_networks: {item!r} is not an address "
                            "or network")
    if settings.listeners.proxy_timeout_seconds <= 0:
        problems.append("listeners.proxy_timeout_seconds: must be positive")
    if not 0 <= settings.smtp.mx_processes <= MAX_PROCESSES:
        problems.append(f"smtp.mx_processes: from 0 (one per core) to {MAX_PROCESSES}")
    if not 0 <= settings.imap.processes <= MAX_PROCESSES:
        problems.append(f"imap.processes: from 0 (one per core) to {MAX_PROCESSES}")
    if settings.store.blob_backend not in ("files", "database"):
        problems.append("store.blob_backend: one of files, database")
    if settings.logging.format not in ("logfmt", "json"):
        problems.append("logging.format: one of logfmt, json")
    if settings.database.sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        problems.append("database.sqlite_synchronous: one of OFF, NORMAL, FULL, EXTRA")
    for name in ("max_message_bytes", "max_patient_message_bytes", "max_recipients",
                 "retry_window_hours"):
        if getattr(settings.limits, name) <= 0:
            problems.append(f"limits.{name}: must be positive")
    if settings.notify.relay_tls not in {"starttls", "implicit", "none"}:
        problems.append("notify.relay_tls: one of starttls, implicit, none")
    if not 0 < settings.notify.relay_port <= 65535:
        problems.append(f"notify.relay_port: {settings.notify.relay_port} is not a TCP port")
    for name in ("session_idle_minutes", "session_absolute_hours"):
        if getattr(settings.webmail, name) <= 0:
            problems.append(f"webmail.{name}: must be positive")
    if settings.vault.access_matrix:
        from mss.vault.access_matrix import AccessMatrixError, load_access_matrix

        try:
            load_access_matrix(settings.vault.access_matrix)
        except AccessMatrixError as exc:
            problems.append(str(exc))
    for f in dataclasses.fields(settings.smtp):
        value = getattr(settings.smtp, f.name)
        if isinstance(value, int) and value <= 0 and f.name != "mx_processes":
            problems.append(f"smtp.{f.name}: must be positive")
    _validate_oidc(settings.oidc, problems)
    _validate_auth(settings, problems)
    if settings.trust.stale_crl not in STALE_CRL_POLICIES:
        problems.append("trust.stale_crl: one of refuse, accept")
    if not 1 <= settings.trust.crl_check_seconds <= 3600:
        problems.append("trust.crl_check_seconds: from 1 to 3600")
    if not 1 <= settings.trust.node_files_seconds <= 3600:
        problems.append("trust.node_files_seconds: from 1 to 3600")
    if not 1 <= settings.store.audit_checkpoint_seconds <= 86400:
        problems.append("store.audit_checkpoint_seconds: from 1 to 86400")


def _validate_oidc(oidc: OidcSettings, problems: list[str]) -> None:
    for name in ("metadata_cache_seconds", "fetch_timeout_seconds"):
        if getattr(oidc, name) <= 0:
            problems.append(f"oidc.{name}: must be positive")
    for name, provider in oidc.providers.items():
        where = f"oidc.providers.{name}"
        if not provider.issuer.startswith(("https://", "http://")):
            problems.append(f"{where}.issuer: an http(s) URL is needed")
        if not (provider.audience or provider.client_id):
            problems.append(f"{where}: set audience or client_id (the expected `aud`)")
        if not provider.rpps_claim:
            problems.append(f"{where}.rpps_claim: must name a claim")
        if not 0 <= provider.clock_skew_seconds <= 600:
            problems.append(f"{where}.clock_skew_seconds: between 0 and 600")
        if provider.jwks_file and not Path(provider.jwks_file).is_file():
            problems.append(f"{where}.jwks_file: no such file {provider.jwks_file}")
    if oidc.web_provider and oidc.web_provider not in oidc.providers:
        problems.append(f"oidc.web_provider: no provider named {oidc.web_provider!r}")


def auth_methods(text: str) -> frozenset[str]:
    """`password, oidc` → {"password", "oidc"}."""
    return frozenset(word.strip().lower() for word in text.split(",") if word.strip())


def _validate_auth(settings: Settings, problems: list[str]) -> None:
    if settings.auth.password_cache_seconds < 0:
        problems.append("auth.password_cache_seconds: must be 0 (off) or more")
    for kind, allowed in AUTH_METHODS_BY_KIND.items():
        methods = auth_methods(getattr(settings.auth, kind))
        if not methods:
            problems.append(f"auth.{kind}: at least one sign-in method is needed")
        for method in sorted(methods - set(allowed)):
            problems.append(f"auth.{kind}: {method!r} is not a method for this kind "
                            f"(one of {', '.join(allowed)})")
        if methods == {"oidc"} and not settings.oidc.providers:
            problems.append(f"auth.{kind}: oidc only, but no [oidc.providers.<name>] is set")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def example_toml() -> str:
    """A documented settings file generated from the model itself."""
    lines = ["# MSS settings. Every key is optional; shown with its default.",
             "# Environment: MSS_<KEY>, nested with a double underscore "
             "(MSS_DATABASE__URL).", ""]

    def emit(obj: Any, prefix: str) -> None:
        tables = []
        named: list[tuple[Any, Any]] = []
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                tables.append((f, value))
                continue
            if typing.get_origin(hints[f.name]) is dict:
                named.append((f, typing.get_args(hints[f.name])[1]))
                continue
            lines.append(f"# {f.metadata.get('doc', '')}")
            lines.append(f"{f.name} = {_toml_value(value)}")
        for f, kind in named:
            lines.append("")
            lines.append(f"# {f.metadata.get('doc', '')} Example (commented out):")
            lines.append(f"# [{prefix}{f.name}.example]")
            for item in dataclasses.fields(kind):
                lines.append(f"# {item.name} = {_toml_value(getattr(kind(), item.name))}"
                             f"  # {item.metadata.get('doc', '')}")
        for f, value in tables:
            lines.append("")
            lines.append(f"# {f.metadata.get('doc', '')}")
            lines.append(f"[{prefix}{f.name}]")
            emit(value, f"{prefix}{f.name}.")

    emit(Settings(), "")
    return "\n".join(lines) + "\n"

