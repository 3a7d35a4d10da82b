"""Prometheus metrics for questions, answer latency, tokens and ingests, in kb's own registry.

The registry is kb's, not prometheus-client's global one: `/metrics` shows kb's series only,
and a library that registers into the global registry cannot collide with them. Labels are
profile names, outcomes, stages and token kinds: never a question, a path or a setting value,
so no secret can reach a scrape; the one exception, a pool's server URLs, are redacted
(`redact_url`) before they get here. This module does not serve anything itself: the page's
server (`frontends/web/server.py`) serves `METRICS.registry` at `/metrics`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sized
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from index.builder import IngestReport

# Answers on a CPU take tens of seconds; prometheus-client's default buckets stop at 10 s.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
STAGES = {"retrieve_s": "retrieve", "first_token_s": "first_token", "total_s": "total"}
# Profile names are set by the operator; anything else (a caller's typo) is counted as "other"
# so a client cannot grow the label set or put its own text into a scrape.
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class ObservedAnswer(Protocol):
    """What `observe_answer` reads of an `Answer` (assistant/answering/models.py)."""

    @property
    def backend(self) -> str: ...
    @property
    def refused(self) -> bool: ...
    @property
    def fell_back(self) -> bool: ...
    @property
    def timings(self) -> Mapping[str, float | None]: ...
    @property
    def usage(self) -> Mapping[str, Any] | None: ...


class KbMetrics:
    """kb's metrics in one registry of their own (tests make fresh ones)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "kb_questions",
            "Questions by backend profile and outcome (answered, refused, fell_back, busy).",
            ["backend", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kb_answer_seconds",
            "Seconds from the question to: passages retrieved, first token, whole answer.",
            ["backend", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "kb_tokens",
            "Model tokens by backend profile and kind (prompt, completion); some are estimated.",
            ["backend", "kind"],
            registry=self.registry,
        )
        self.server_requests = Counter(
            "kb_server_requests",
            "Requests to each server of a pooled profile (base_urls), by outcome (ok, failed).",
            ["backend", "server", "outcome"],
            registry=self.registry,
        )
        self._ingest_metrics()

    def _ingest_metrics(self) -> None:
        self.ingest_files = Counter(
            "kb_ingest_files",
            "Files seen by ingests, by what happened (added, updated, unchanged, removed, failed).",
            ["change"],
            registry=self.registry,
        )
        self.ingests = Counter("kb_ingests", "Ingests run.", registry=self.registry)
        self.chunks = Gauge(
            "kb_index_chunks", "Chunks in the index after the last ingest.", registry=self.registry
        )

    def observe_answer(self, answer: ObservedAnswer) -> None:
        """Count one finished answer: its outcome, stage latencies and tokens."""
        backend = backend_label(answer.backend)
        self.questions.labels(backend, outcome(answer)).inc()
        for key, stage in STAGES.items():
            seconds = answer.timings.get(key)
            if seconds is not None:
                self.latency.labels(backend, stage).observe(seconds)
        if answer.usage:
            self.tokens.labels(backend, "prompt").inc(answer.usage["prompt_tokens"])
            self.tokens.labels(backend, "completion").inc(answer.usage["completion_tokens"])

    def observe_busy(self, backend: str) -> None:
        """Count one question answered "busy" without a model call."""
        self.questions.labels(backend_label(backend), "busy").inc()

    def observe_server(self, backend: str, server: str, result: str) -> None:
        """Count one request to a pool's server (`server`: its URL, credentials redacted)."""
        self.server_requests.labels(backend_label(backend), server, result).inc()

    def observe_ingest(self, report: IngestReport) -> None:
        """Count one ingest's files by change and record the index's size after it."""
        self.ingests.inc()
        changes: dict[str, Sized] = {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "failed": report.failed,
        }
        for change, files in changes.items():
            self.ingest_files.labels(change).inc(len(files))
        self.chunks.set(report.chunks)


def outcome(answer: ObservedAnswer) -> str:
    """One outcome per answer: a refusal is "refused" even when another backend made it."""
    if answer.refused:
        return "refused"
    return "fell_back" if answer.fell_back else "answered"


def backend_label(name: str) -> str:
    """`name` when it looks like a profile name, else "other"."""
    return name if _PROFILE_NAME.match(name) else "other"


METRICS = KbMetrics()


def observe_answer(answer: ObservedAnswer) -> None:
    """Count a finished answer in kb's registry (see `KbMetrics.observe_answer`)."""
    METRICS.observe_answer(answer)


def observe_busy(backend: str) -> None:
    """Count a question answered "busy" in kb's registry."""
    METRICS.observe_busy(backend)


def observe_server(backend: str, server: str, result: str) -> None:
    """Count a request to a pool's server in kb's registry."""
    METRICS.observe_server(backend, server, result)


def observe_ingest(report: IngestReport) -> None:
    """Count an ingest in kb's registry."""
    METRICS.observe_ingest(report)
