"""The SMTP service `mss serve` starts: MX, submission (587, 465) and the queue worker.

Each listener is switched on or off by `settings.listeners.<mx|submission|submissions>`;
port 0 picks a free port and the printed line gives the real one. Everything it uses is
given by the composition root (mss.composition): the pipeline, the queue worker (main
process only), how to wake it, and, with `smtp.mx_processes` above one, how to start
the extra MX processes (mss.smtp.mx_processes) once its own MX listener is bound; it
stops them first.
"""

from __future__ import annotations

from collections.abc import Callable

from mss.certs import DevPki, server_context
from mss.certs.live_trust import LiveTrust
from mss.config import Settings, process_count
from mss.metrics import NodeMetrics
from mss.oidc.bearer_login import BearerLogin
from mss.pipeline.accept import Pipeline
from mss.proxy_protocol import ProxyPolicy
from mss.smtp.data_intake import DataIntake
from mss.smtp.inbound_handler import MxHandler
from mss.smtp.listeners import ListenerSpec, SmtpListener
from mss.smtp.mx_processes import MxProcesses, extra_processes
from mss.smtp.options import SmtpOptions
from mss.smtp.outbound_worker import QueueWorker
from mss.smtp.submission_handler import SubmissionHandler
from mss.store.store import Store


class SmtpService:
    name = "smtp"

    def __init__(self, settings: Settings, store: Store, pipeline: Pipeline, pki: DevPki,
                 metrics: NodeMetrics, *, options: SmtpOptions, bearer: BearerLogin | None,
                 wake_queue: Callable[[], None], worker: QueueWorker | None = None,
                 run_worker: bool = True, live_trust: LiveTrust | None = None,
                 mx_processes: Callable[[int], MxProcesses] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.pki = pki
        self.metrics = metrics
        self.options = options
        self.bearer = bearer
        self.wake_queue = wake_queue
        self.live_trust = live_trust
        self.worker = worker  # the main process's; MX processes wake it through their link
        self.run_worker = run_worker and worker is not None
        self.extra_mx = mx_processes  # given the bound MX port; None in an MX process
        self.listeners: dict[str, SmtpListener] = {}
        self.mx_processes: MxProcesses | None = None

    def _specs(self, intake: DataIntake, options: SmtpOptions) -> list[tuple[str, ListenerSpec]]:
        paths = self.pki.paths
        listeners = self.settings.listeners
        # MX: the peer's certificate is asked for and checked at MAIL (T1): "optional"
        # lets a peer without one reach MAIL and hear why it is refused.
        # The handshake checks the chain; revocation is checked after it and before each
        # command against the CRL in force now (mss.certs.live_trust).
        mx_context = server_context(paths, client_cert="optional", check_crl=False)
        submission_context = server_context(paths, client_cert="optional", check_crl=False)
        if self.live_trust is not None:  # CAs added to the bundle reach the next handshake
            self.live_trust.track(mx_context)
            self.live_trust.track(submission_context)
        mx = MxHandler(intake, options, self.live_trust)
        submission = SubmissionHandler(intake, options, self.live_trust)
        submission.oauth = self.bearer
        specs = [
            ("mx", ListenerSpec("MX", "(STARTTLS, client certificate required)", listeners.mx,
                                mx, mx_context, implicit_tls=False, offer_dsn=False)),
            ("submission", ListenerSpec(
                "Submission", "(STARTTLS, AUTH PLAIN LOGIN EXTERNAL)", listeners.submission,
                submission, submission_context, implicit_tls=False, offer_dsn=True)),
            ("submissions", ListenerSpec(
                "Submissions", "(implicit TLS, AUTH PLAIN LOGIN EXTERNAL)",
                listeners.submissions, submission, submission_context, implicit_tls=True,
                offer_dsn=True)),
        ]
        proxy = ProxyPolicy.from_settings(listeners)  # behind a load balancer (HAProxy)
        for _, spec in specs:
            spec.proxy = proxy
        return [(name, spec) for name, spec in specs if spec.settings.enabled]

    async def start(self) -> list[str]:
        options = self.options
        intake = DataIntake(self.store, self.settings, self.pipeline, self.wake_queue)
        lines = []
        shared = process_count(self.settings.smtp.mx_processes) > 1
        for name, spec in self._specs(intake, options):
            listener = SmtpListener(spec, options, self.settings.server.hostname,
                                    shared_port=shared and name == "mx")
            lines.append(await listener.start())
            self.listeners[name] = listener
        if self.extra_mx is not None and extra_processes(self.settings) > 0:
            mx = self.listeners.get("mx")
            self.mx_processes = self.extra_mx(mx.port if mx is not None else 0)
            lines.extend(await self.mx_processes.start())
        listeners = self.listeners
        self.metrics.sessions.labels("smtp").set_function(
            lambda: sum(sum(item.counter.open.values()) for item in listeners.values()))
        if self.worker is not None and self.run_worker:
            self.worker.start()
            lines.append("Outbound queue worker started")
        return lines

    async def stop(self) -> None:
        if self.mx_processes is not None:
            await self.mx_processes.stop()  # they drain their sessions and commits first
            self.mx_processes = None
        for listener in self.listeners.values():
            await listener.stop()
        self.listeners.clear()
        if self.worker is not None:
            await self.worker.stop()

