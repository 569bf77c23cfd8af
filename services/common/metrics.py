"""Prometheus metrics: one registry per process, low-cardinality labels only.

``Metrics`` is a nameko DependencyProvider that times and counts every
entrypoint (rpc, event, http, timer) by outcome, and, for domain services,
serves /metrics on ``METRICS_PORT``.
"""
import time

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, start_http_server

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ENTRYPOINT_CALLS = Counter(
    "crm_entrypoint_calls_total", "Entrypoint calls by outcome",
    ["service", "kind", "method", "outcome"])
ENTRYPOINT_LATENCY = Histogram(
    "crm_entrypoint_duration_seconds", "Entrypoint duration",
    ["service", "kind", "method"], buckets=BUCKETS)
HTTP_REQUESTS = Counter(
    "crm_http_requests_total", "HTTP requests", ["service", "route", "method", "status"])
HTTP_LATENCY = Histogram(
    "crm_http_request_duration_seconds", "HTTP request duration",
    ["service", "route", "method"], buckets=BUCKETS)
RPC_REFUSED = Counter(
    "crm_rpc_refused_total", "RPC calls refused before any worker ran: no or no valid "
    "identity (services.common.bus_identity)", ["service", "method", "reason"])
OUTBOX_BACKLOG = Gauge("crm_outbox_backlog", "Unpublished outbox rows", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "crm_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISHED = Counter("crm_outbox_published_total", "Events published", ["service"])
OUTBOX_UNROUTABLE = Counter(
    "crm_outbox_unroutable_total", "Events returned by the broker (no queue bound)", ["service"])
OUTBOX_ERRORS = Counter("crm_outbox_publish_errors_total", "Relay publish failures", ["service"])
EVENTS_APPLIED = Counter(
    "crm_events_applied_total", "Events applied by a handler", ["service", "handler"])
EVENTS_DUPLICATE = Counter(
    "crm_events_duplicate_total", "Repeated events skipped by the inbox", ["service", "handler"])
EVENTS_RETRIED = Counter(
    "crm_events_retried_total", "Failed event deliveries requeued", ["service", "handler"])
EVENTS_DEAD_LETTERED = Counter(
    "crm_events_dead_lettered_total", "Events sent to the dead-letter queue",
    ["service", "handler"])
DLQ_DEPTH = Gauge("crm_dlq_depth", "Messages waiting in a dead-letter queue", ["service", "queue"])
EVENT_LAG = Histogram(
    "crm_event_lag_seconds", "Apply time minus publish (or receive) time", ["service"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))

_KINDS = {"Rpc": "rpc", "ResilientRpc": "rpc", "EventHandler": "event",
          "ReliableEventHandler": "event",
          "HttpRequestHandler": "http", "Timer": "timer"}
_served_ports = set()


def serve(port):
    """Start the /metrics HTTP server once per process and port."""
    port = int(port or 0)
    if port and port not in _served_ports:
        start_http_server(port)
        _served_ports.add(port)


def entrypoint_kind(entrypoint):
    return _KINDS.get(type(entrypoint).__name__, type(entrypoint).__name__.lower())


class Metrics(DependencyProvider):
    """Counts and times every entrypoint; serves /metrics for domain services."""

    def __init__(self, serve_http=True):
        self.serve_http = serve_http
        self._started = {}

    def setup(self):
        if self.serve_http:
            serve(self.container.config.get("METRICS_PORT"))

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        began = self._started.pop(worker_ctx, None)
        ep = worker_ctx.entrypoint
        kind = entrypoint_kind(ep)
        labels = (worker_ctx.service_name, kind, ep.method_name)
        if exc_info is None:
            outcome = "success"
        elif isinstance(exc_info[1], getattr(ep, "expected_exceptions", ()) or ()):
            outcome = "expected_error"
        else:
            outcome = "error"
        ENTRYPOINT_CALLS.labels(*labels, outcome).inc()
        if began is not None:
            ENTRYPOINT_LATENCY.labels(*labels).observe(time.perf_counter() - began)

    def worker_teardown(self, worker_ctx):
        self._started.pop(worker_ctx, None)
