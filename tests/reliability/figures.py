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
        want = set(stack.committed()) | set(extra_ids)
        return want <= set(inbox) and stack.queue_depth("reporting") == 0

    try:
        wait_for(done, timeout, 0.5, "convergence")
    except AssertionError:
        pass


def measure(name, stack, meter=None, extra_ids=(), expect_dlq=0, **extra):
    committed = set(stack.committed()) | set(extra_ids)
    inbox, rows, distinct, lag = stack.applied()
    applied = set(inbox)
    fig = Figures(
        scenario=name, committed=len(committed), applied=len(applied & committed),
        lost=len(committed - applied),
        duplicated=(rows - distinct) + (len(inbox) - len(applied)) + len(applied - committed),
        redeliveries=meter.duplicates() if meter else 0,
        dlq=dlq_depth(stack.amqp_uri), max_lag=float(lag),
        seconds=time.time() - meter.began if meter else 0.0, extra=extra)
    FIGURES.append(fig)
    print("\n" + fig.line())
    return fig
