"""Prometheus metrics of one node, fed by the one event vocabulary (docs/architecture.md §8.10).

Every committed audit row counts in `mss_events_total{action,outcome}` (accepted and
refused messages, authentication failures, deposits ...); the pipeline adds verdicts by
rule and accept latency; the app samples queue depth and sessions.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401 - re-exported
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
