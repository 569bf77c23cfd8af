"""The figures of one scenario: committed, applied, lost, duplicated,
redeliveries, DLQ depth, max lag — measured, never assumed."""
import dataclasses
import os
import time

from kombu import Connection

from services.contract import consumer_queues, dlq_name
from tests.reliability.stack import REPORTING_HANDLER, metric_sum, scrape, wait_for

FIGURES = []


@dataclasses.dataclass
class Figures:
    scenario: str
    committed: int = 0
    applied: int = 0
    lost: int = 0
    duplicated: int = 0
    redeliveries: int = 0
    dlq: int = 0
    max_lag: float = 0.0
    seconds: float = 0.0
    extra: dict = dataclasses.field(default_factory=dict)

    def line(self):
        extra = " ".join(f"{k}={v}" for k, v in self.extra.items())
        return (f"{self.scenario:<22} committed={self.committed} applied={self.applied} "
                f"lost={self.lost} duplicated={self.duplicated} "
                f"redeliveries={self.redeliveries} dlq={self.dlq} "
                f"max_lag={self.max_lag:.2f}s time={self.seconds:.0f}s {extra}").rstrip()

    def as_dict(self):
        return dict(dataclasses.asdict(self), scale=os.environ.get("CRM_CHAOS_SCALE", "0.05"))


class Meter:
    """Accumulates reporting's inbox-duplicate counter across process restarts
    (scrape before every kill: a killed process takes its counters with it)."""

    def __init__(self, stack):
        self.stack = stack
        self.banked = 0.0
        self.began = time.time()

    def current(self):
        if not self.stack.alive("reporting"):
            return 0.0
        try:
            sample = scrape(self.stack.ports["reporting"])
        except OSError:
            return 0.0
        return metric_sum(sample, "crm_events_duplicate_total", handler=REPORTING_HANDLER)

    def bank(self):
        """Call right before killing/stopping reporting."""
        self.banked += self.current()

    def duplicates(self):
        return int(self.banked + self.current())


def dlq_depth(amqp_uri):
    total = 0
    with Connection(amqp_uri, connect_timeout=5) as conn:
        ch = conn.channel()
        for q in consumer_queues():
            _, n, _ = ch.queue_declare(dlq_name(q["name"]), passive=True)
            total += n
    return total


def converge(stack, timeout=120, extra_ids=()):
    """Wait until every outbox row is sent and reporting applied every committed
    event (or the timeout passes: the figures then show what is missing)."""
    def done():
        if stack.unsent():
            return False
        inbox, *_ = stack.applied()
        want = set(stack.committed()) | set(extra_ids) | set(getattr(stack, "extra_ids", ()))
        return want <= set(inbox) and stack.queue_depth("reporting") == 0

    try:
        wait_for(done, timeout, 0.5, "convergence")
    except AssertionError:
        pass


class Window:
    """One scenario's share of a stack that several scenarios use in turn: the
    events committed since it began, the duplicates counted since, its time.
    ``measure(..., window=w)`` reports committed / applied / redeliveries /
    max lag of the window alone, while lost and duplicated stay counted over the
    whole stack (a superset: an event of an earlier scenario lost or applied twice
    later still fails this one). Events a scenario injects without an outbox row
    go to ``stack.extra_ids`` so later windows count them as committed."""

    def __init__(self, stack, meter):
        self.stack = stack
        self.meter = meter
        self.before = set(stack.committed()) | set(getattr(stack, "extra_ids", ()))
        self.dup_before = meter.duplicates()
        self.began = time.time()

    def committed(self):
        """{event_id: envelope} the sources committed since the window began."""
        return {k: v for k, v in self.stack.committed().items() if k not in self.before}


def lags(stack):
    """{event_id: lag_seconds} of reporting's event log."""
    with stack._db("reporting") as db:
        return dict(db.execute("SELECT event_id, lag_seconds FROM event_log"))


def measure(name, stack, meter=None, extra_ids=(), expect_dlq=0, window=None, **extra):
    stack.extra_ids = set(getattr(stack, "extra_ids", ())) | set(extra_ids)
    committed = set(stack.committed()) | stack.extra_ids  # the whole stack
    inbox, rows, distinct, lag = stack.applied()
    applied = set(inbox)
    mine = committed - window.before if window else committed
    if window:
        lag = max((v or 0.0 for k, v in lags(stack).items() if k in mine), default=0.0)
    began = window.began if window else meter.began if meter else None
    redeliveries = meter.duplicates() if meter else 0
    fig = Figures(
        scenario=name, committed=len(mine), applied=len(applied & mine),
        lost=len(committed - applied),
        duplicated=(rows - distinct) + (len(inbox) - len(applied)) + len(applied - committed),
        redeliveries=redeliveries - (window.dup_before if window else 0),
        dlq=dlq_depth(stack.amqp_uri), max_lag=float(lag),
        seconds=time.time() - began if began else 0.0, extra=extra)
    FIGURES.append(fig)
    print("\n" + fig.line())
    return fig
