"""Prometheus metrics of one node, fed by the one event vocabulary (docs/architecture.md §8.10).

Every committed audit row counts in `mss_events_total{action,outcome}` (accepted and
refused messages, authentication failures, deposits ...); the pipeline adds verdicts by
rule and accept latency; the app samples queue depth and sessions.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401 - re-exported
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector


class NodeMetrics:
    """One registry per node (several nodes may run in one test process)."""

    def __init__(self, node_id: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"node": node_id}
        self.events = Counter("mss_events_total", "Committed audit events.",
                              ["action", "outcome"], registry=self.registry)
        self.verdicts = Counter("mss_recipient_verdicts_total",
                                "Recipients accepted or refused, by policy rule.",
                                ["rule", "accepted"], registry=self.registry)
        self.accept_seconds = Histogram(
            "mss_accept_seconds", "Time to accept a message (facts, policy, commit).",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.queue_depth = Gauge("mss_queue_depth", "Recipients waiting for relay.",
                                 registry=self.registry)
        self.queue_oldest_seconds = Gauge("mss_queue_oldest_seconds",
                                          "Age of the oldest waiting recipient.",
                                          registry=self.registry)
        self.sessions = Gauge("mss_sessions", "Open protocol sessions.", ["protocol"],
                              registry=self.registry)
        self.tls_peer_refusals = Counter(
            "mss_tls_peer_refusals_total",
            "Client certificates refused (handshake or revocation), by listener and reason.",
            ["listener", "reason"], registry=self.registry)
        self.crl_stale_accepted = Counter(
            "mss_crl_stale_accepted_total",
            "Client certificates accepted while their issuer's CRL was expired or missing "
            "(trust.stale_crl = accept).", registry=self.registry)
        self.auth_throttle = Counter(
            "mss_auth_throttle_total",
            "Sign-in throttle decisions: failures answered after a delay, attempts refused "
            "unverified (scope pair: one account from one address; client: the address).",
            ["decision", "scope"], registry=self.registry)
        self.info = Gauge("mss_node_info", "This node.", list(labels), registry=self.registry)
        self.info.labels(**labels).set(1)
        # from the event lines (mss.event_log), so logs and metrics say the same
        self.sessions_opened = Counter(
            "mss_sessions_opened_total", "Protocol sessions opened, by listener.",
            ["listener"], registry=self.registry)
        self.auth_failures = Counter(
            "mss_auth_failures_total", "Failed logins, by protocol and mechanism.",
            ["protocol", "mechanism"], registry=self.registry)
        self.rcpt_refusals = Counter(
            "mss_rcpt_refusals_total", "Recipients refused at RCPT, by policy rule.",
            ["rule"], registry=self.registry)
        self.mail_refusals = Counter(
            "mss_mail_refusals_total", "Senders refused at MAIL FROM, by policy rule.",
            ["rule"], registry=self.registry)
        self.tls_failures = Counter(
            "mss_tls_handshake_failures_total", "TLS handshakes that failed, by reason.",
            ["listener", "reason"], registry=self.registry)
        self.build = Gauge("mss_build_info", "Version of MSS and of Python.",
                           ["version", "python"], registry=self.registry)
        self.build.labels(_version(), platform.python_version()).set(1)
        self.trust_list_age_seconds = Gauge(
            "mss_trust_list_age_seconds", "Age of the trust list in force (since it was "
            "published, or imported when it names no date).", registry=self.registry)
        self.certificate_expiry_days = Gauge(
            "mss_certificate_expiry_days", "Days until the operator's certificates expire.",
            ["certificate"], registry=self.registry)
        self.audit_head_lock_seconds = Histogram(
            "mss_audit_head_lock_seconds", "Time a writing transaction waited for the audit "
            "chain head's row lock, just before COMMIT (PostgreSQL; docs/audit.md).",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
        ProcessCollector(registry=self.registry)

    def count_event(self, name: str, fields: Mapping[str, object]) -> None:
        """An `mss.event_log` observer."""
        if name == "session.opened":
            self.sessions_opened.labels(str(fields.get("listener", ""))).inc()
        elif name == "auth.failed":
            self.auth_failures.labels(str(fields.get("protocol", "")),
                                      str(fields.get("mechanism", ""))).inc()
        elif name == "message.refused" and fields.get("stage") == "rcpt":
            self.rcpt_refusals.labels(str(fields.get("rule", ""))).inc()
        elif name in ("peer.refused", "message.refused") and fields.get("stage") == "mail":
            self.mail_refusals.labels(str(fields.get("rule", ""))).inc()
        elif name == "tls.failed":
            self.tls_failures.labels(str(fields.get("listener", "")),
                                     str(fields.get("reason", ""))).inc()

    def certificates_expire(self, files: Mapping[str, Path], now: datetime) -> None:
        """Days left of each PEM certificate file (the first certificate of a chain)."""
        for name, path in files.items():
            try:
                certificate = x509.load_pem_x509_certificate(path.read_bytes())
            except (OSError, ValueError):
                continue
            left = certificate.not_valid_after_utc - now
            self.certificate_expiry_days.labels(name).set(left.total_seconds() / 86400)

    def count_audit(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            action = str(row["action"])
            self.events.labels(action, str(row["outcome"])).inc()
            if action == "auth.rate_limited":
                detail = str(row.get("detail") or "")
                scope = "client" if "scope=client" in detail else "pair"
                self.auth_throttle.labels("refused", scope).inc()
            elif action == "auth.failed" and " delay=" in str(row.get("detail") or ""):
                self.auth_throttle.labels("delayed", "pair").inc()

    def count_accept(self, result: Any, seconds: float) -> None:
        """A pipeline `after_accept` callback: verdicts by rule, and latency."""
        self.accept_seconds.observe(seconds)
        for recipient in result.results:
            verdict = recipient.verdict
            self.verdicts.labels(str(verdict.rule), str(verdict.accepted).lower()).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


# Gauges whose node-wide value is the sum over its processes; every other gauge (build
# and node info, trust-list age, certificate expiry, start time) is the main process's.
ADDITIVE_GAUGES = frozenset({"mss_sessions", "process_resident_memory_bytes",
                             "process_virtual_memory_bytes", "process_open_fds"})
_SUMMED_TYPES = frozenset({"counter", "histogram", "summary", "gaugehistogram"})


class _Families(Collector):
    """Already-built metric families, for `generate_latest`."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def merge_expositions(main: bytes, others: list[str]) -> bytes:
    """One node's Prometheus text from its main process's and its extra processes'
    (MX and IMAP processes, mss.store.process_link): counters and histograms are summed
    series by series, and the additive gauges; other gauges keep the main process's."""
    families = {f.name: f for f in text_string_to_metric_families(main.decode())}
    for text in others:
        for extra in text_string_to_metric_families(text):
            family = families.get(extra.name)
            if family is None or family.type != extra.type:
                continue
            summed = family.type in _SUMMED_TYPES or family.name in ADDITIVE_GAUGES
            if not summed:
                continue
            at = {(s.name, tuple(sorted(s.labels.items()))): i
                  for i, s in enumerate(family.samples)}
            for sample in extra.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key in at:
                    mine = family.samples[at[key]]
                    value = (min(mine.value, sample.value) if sample.name.endswith("_created")
                             else mine.value + sample.value)  # a creation time is not summed
                    family.samples[at[key]] = mine._replace(value=value)
                else:
                    at[key] = len(family.samples)
                    family.samples.append(sample)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(list(families.values())))
    return generate_latest(registry)




def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mss")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"
