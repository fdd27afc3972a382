"""The composition root: the one place that builds every service of a process and plugs
the hooks between them (docs/architecture.md §7).

No service finds another by a name or in a shared dictionary: each is given, here, the
objects it uses. There is one function per kind of process:
- `compose_main`: a node's main process (every listener, the outbound queue worker, the
  patient notice worker, the extra MX processes). A node of a cluster is one such main
  process; nodes share the database (PostgreSQL), nothing else (the PKI and DKIM
  files travel through it: mss.store.node_file_sync, run by mss.app);
- `compose_mx_process`: one of the extra processes of a node (`smtp.mx_processes`,
  `imap.processes`): the MX listener and/or the IMAP listeners on the main process's
  ports; what it accepts wakes the main process's workers through the process link.

Invariant: the hooks of the one pipeline are the same in every process that accepts
mail (`compose_pipeline`): vault deposit, patient notice queueing (in the delivering
transaction), metrics. A hook registered anywhere else is a bug: an MX process would
lack it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Protocol

from mss.admin_listener import AdminService
from mss.agenda.calendar_step import AgendaStep
from mss.agenda.reminders import ReminderService
from mss.certs import DevPki
from mss.certs.live_trust import LiveTrust
from mss.config import Settings
from mss.imap.service import ImapService
from mss.metrics import NodeMetrics, merge_expositions
from mss.notify.notifier import Notifier
from mss.notify.relay_settings import relay_settings
from mss.oidc.bearer_login import bearer_login, provider_keys
from mss.oidc.web_sign_in import web_sign_in
from mss.pipeline.accept import Pipeline
from mss.pipeline.message_search import SearchIndexer
from mss.pipeline.system_mail import attach_vault, system_sender
from mss.pipeline.trash import TrashPurger
from mss.profile.retention import ProfileRetention
from mss.smtp.mx_processes import NOTICE_WAKEUP, QUEUE_WAKEUP, MxProcesses, ServeMxProcess
from mss.smtp.options import SmtpOptions, smtp_options
from mss.smtp.outbound_worker import QueueWorker
from mss.smtp.service import SmtpService
from mss.store.process_link import ProcessLink
from mss.store.store import Store
from mss.vault.access import VaultService
from mss.vault.break_glass_notice import physician_break_glass_notifier
from mss.webmail.service import WebmailService


class Service(Protocol):
    name: str

    async def start(self) -> list[str]:
        """Start; return one line per listener for the operator ("MX on 127.0.0.1:10025")."""
        ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Foundation:
    """What every process has before its services are built: settings, the open store,
    the server PKI and the process's metrics."""

    settings: Settings
    store: Store
    pki: DevPki
    metrics: NodeMetrics
    node_id: str
    live_trust: LiveTrust | None = None  # revocations in force, for every TLS listener


@dataclass(slots=True)
class ProcessServices:
    """Every service of one process, typed. `services` is the start order (they stop in
    the reverse order: the web stops before the notices drain, listeners before the
    queue worker)."""

    pipeline: Pipeline
    notifier: Notifier
    smtp: SmtpService
    services: list[Service]
    imap: ImapService | None = None
    vault: VaultService | None = None
    webmail: WebmailService | None = None
    admin: AdminService | None = None
    process_link: ProcessLink | None = None


def compose_pipeline(base: Foundation, notifier: Notifier) -> Pipeline:
    """The one pipeline with every hook, identical in each process that accepts mail."""
    store = base.store
    pipeline = Pipeline(store, base.settings)
    attach_vault(pipeline)
    pipeline.patient_steps.append(AgendaStep(store))  # convocations → the patient's agenda
    pipeline.in_delivery.append(notifier.on_delivery)  # commits with the delivery
    pipeline.after_accept.append(base.metrics.count_accept)
    store.batcher.audit_listeners.append(base.metrics.count_audit)
    store.audit_seal.head_lock_listeners.append(base.metrics.audit_head_lock_seconds.observe)
    return pipeline


def compose_main(base: Foundation, *, serve_mx_process: ServeMxProcess,
                 options: SmtpOptions | None = None,
                 queue_worker: bool = True) -> ProcessServices:
    """A node's main process. `queue_worker=False` builds the outbound queue worker but
    leaves it stopped (tests run its passes by hand); `options` overrides the SMTP limits."""
    settings, store = base.settings, base.store
    notifier = Notifier(store, relay_settings(settings))
    pipeline = compose_pipeline(base, notifier)
    smtp_limits = smtp_options(settings, options)
    worker = QueueWorker(store, settings, pipeline, base.pki.paths, smtp_limits,
                         name=f"{base.node_id}-smtp", live_trust=base.live_trust)
    wakeups = {QUEUE_WAKEUP: worker.wake.set, NOTICE_WAKEUP: notifier.wake.set}
    keys = provider_keys(store)
    bearer = bearer_login(store, keys)
    services: list[Service] = []
    imap = None
    listeners = settings.listeners
    if listeners.imap.enabled or listeners.imaps.enabled:
        imap = ImapService(settings, store, base.pki, base.metrics, bearer=bearer,
                           live_trust=base.live_trust)
        services.append(imap)  # bound first: the extra processes take its ports
    smtp = SmtpService(
        settings, store, pipeline, base.pki, base.metrics, options=smtp_limits, bearer=bearer,
        wake_queue=worker.wake.set, worker=worker, run_worker=queue_worker,
        live_trust=base.live_trust,
        mx_processes=lambda port: MxProcesses(settings, store, port, base.node_id,
                                              serve=serve_mx_process, wakeups=wakeups,
                                              imap_ports=partial(imap_ports, imap)))
    services.append(smtp)  # starts the extra MX/IMAP processes once its MX is bound
    vault = VaultService(store)
    vault.on_break_glass.append(notifier.on_break_glass)
    vault.on_break_glass.append(physician_break_glass_notifier(
        system_sender(pipeline), settings.server.domain, store.clock.now))
    webmail = WebmailService(settings, store, pipeline, vault,
                             sign_in=web_sign_in(store, keys),
                             ports=partial(listening_ports, smtp, imap))
    admin = AdminService(settings, store, partial(node_metrics, base.metrics, smtp))
    # every node claims due reminders; the unique claim makes each go once (mss.agenda)
    reminders = ReminderService(store, node_id=base.node_id, wake_notices=notifier.wake.set)
    retention = ProfileRetention(store)  # opposed and expired closed profiles erased
    # every node purges expired trash; a purge is one transaction, so two nodes cannot
    # purge a message twice (mss.pipeline.trash)
    trash = TrashPurger(store)
    search = SearchIndexer(store)  # patients' new messages indexed ahead of a search
    services.extend([notifier, reminders, retention, trash, search, webmail, admin])
    return ProcessServices(pipeline, notifier, smtp, services, imap=imap, vault=vault,
                           webmail=webmail, admin=admin)


def compose_mx_process(base: Foundation, link: ProcessLink, *,
                       options: SmtpOptions | None = None) -> ProcessServices:
    """An extra MX process: the MX listener with the same pipeline and hooks as the main
    process; the outbound queue and the patient notices it fills are sent by the main
    process, woken through `link`."""
    settings, store = base.settings, base.store
    link.metrics_source = base.metrics.render  # the main process's /metrics asks for it
    notifier = Notifier(store, relay_settings(settings),
                        wake_sender=partial(link.wake, NOTICE_WAKEUP))
    pipeline = compose_pipeline(base, notifier)
    bearer = bearer_login(store, provider_keys(store))
    smtp = SmtpService(settings, store, pipeline, base.pki, base.metrics,
                       options=smtp_options(settings, options), bearer=bearer,
                       wake_queue=partial(link.wake, QUEUE_WAKEUP), live_trust=base.live_trust)
    services: list[Service] = [smtp]
    imap = None
    if settings.listeners.imap.enabled or settings.listeners.imaps.enabled:
        imap = ImapService(settings, store, base.pki, base.metrics, bearer=bearer,
                           live_trust=base.live_trust)
        services.append(imap)
    return ProcessServices(pipeline, notifier, smtp, services, imap=imap, process_link=link)


async def node_metrics(metrics: NodeMetrics, smtp: SmtpService) -> bytes:
    """`/metrics` of the whole node: this process's, plus its extra MX and IMAP
    processes' asked over the process link (mss.store.process_link) and summed."""
    own = metrics.render()
    extra = smtp.mx_processes
    if extra is None:
        return own
    return merge_expositions(own, await extra.hub.collect_metrics())


def imap_ports(imap: ImapService | None) -> dict[str, int]:
    """"imap"/"imaps" → the port the main process bound (the extra processes take it)."""
    if imap is None:
        return {}
    return {key: address[1] for key, address in imap.addresses.items()}


def listening_ports(smtp: SmtpService, imap: ImapService | None) -> dict[str, int]:
    """Listener name → bound port, for autoconfig (read after the listeners started)."""
    ports = {name: listener.port for name, listener in smtp.listeners.items() if listener.port}
    if imap is not None:
        ports.update({key: address[1] for key, address in imap.addresses.items()})
    return ports
