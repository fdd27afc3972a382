"""The SMTP service `mss serve` starts: MX, submission (587, 465) and the queue worker.

Each listener is switched on or off by `settings.listeners.<mx|submission|submissions>`;
port 0 picks a free port and the printed line gives the real one. Objects other services
may use are published in `app.context`: "smtp_queue_worker" (its `wake` event) and
"smtp_listeners" (name → SmtpListener). With `smtp.mx_processes` above one, the main
process starts the extra MX processes (mss.smtp.mx_processes) once its own MX listener
is bound, and stops them first.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from mss.certs import server_context
from mss.oidc.bearer_login import shared_bearer_login
from mss.smtp.data_intake import DataIntake
from mss.smtp.inbound_handler import MxHandler
from mss.smtp.listeners import ListenerSpec, SmtpListener
from mss.smtp.mx_processes import QUEUE_WAKEUP, MxProcesses
from mss.smtp.options import SmtpOptions, smtp_options
from mss.smtp.outbound_worker import QueueWorker
from mss.smtp.submission_handler import SubmissionHandler
from mss.store.process_link import ProcessLink

if TYPE_CHECKING:
    from mss.app import App


class SmtpService:
    name = "smtp"

    def __init__(self, app: App) -> None:
        self.app = app
        self.listeners: dict[str, SmtpListener] = {}
        self.worker: QueueWorker | None = None
        self.mx_processes: MxProcesses | None = None

    def _specs(self, intake: DataIntake, options: SmtpOptions) -> list[tuple[str, ListenerSpec]]:
        app = self.app
        assert app.pki is not None
        paths = app.pki.paths
        listeners = app.settings.listeners
        # MX: the peer's certificate is asked for and checked at MAIL (T1): "optional"
        # lets a peer without one reach MAIL and hear why it is refused.
        # The handshake checks the chain; revocation is checked after it and before each
        # command against the CRL in force now (mss.certs.live_trust).
        mx_context = server_context(paths, client_cert="optional", check_crl=False)
        submission_context = server_context(paths, client_cert="optional", check_crl=False)
        mx = MxHandler(intake, options, app.live_trust)
        submission = SubmissionHandler(intake, options, app.live_trust)
        submission.oauth = shared_bearer_login(app.context, intake.store)
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
        return [(name, spec) for name, spec in specs if spec.settings.enabled]

    async def start(self) -> list[str]:
        app = self.app
        assert app.store is not None and app.pipeline is not None and app.pki is not None
        options = smtp_options(app.settings, app.context.get("smtp_options"))
        self.worker = QueueWorker(app.store, app.settings, app.pipeline, app.pki.paths,
                                  options, name=f"{app.node_id}-smtp",
                                  live_trust=app.live_trust)
        worker = self.worker
        link: ProcessLink | None = app.context.get("process_link")
        wake = worker.wake.set if link is None else partial(link.wake, QUEUE_WAKEUP)
        intake = DataIntake(app.store, app.settings, app.pipeline, wake)
        lines = []
        shared = app.settings.smtp.mx_processes > 1
        for name, spec in self._specs(intake, options):
            listener = SmtpListener(spec, options, app.settings.server.hostname,
                                    shared_port=shared and name == "mx")
            lines.append(await listener.start())
            self.listeners[name] = listener
        if shared and "mx" in self.listeners and app.mx_process is None:
            self.mx_processes = MxProcesses(app.settings, app.store, self.listeners["mx"].port,
                                            app.node_id)
            self.mx_processes.hub.wakeups[QUEUE_WAKEUP] = worker.wake.set
            lines.extend(await self.mx_processes.start())
        app.context["smtp_listeners"] = self.listeners
        listeners = self.listeners
        app.metrics.sessions.labels("smtp").set_function(
            lambda: sum(sum(item.counter.open.values()) for item in listeners.values()))
        app.context["smtp_queue_worker"] = worker
        if app.context.get("smtp_worker_enabled", True):
            worker.start()
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


def build(app: Any) -> list[SmtpService]:
    return [SmtpService(app)]
