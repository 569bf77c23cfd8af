"""The chaos suite (issue 8): whole service processes, real faults, loopback only.

Each scenario prints one line of figures and fails on any loss or double count.
Sizes scale with CRM_CHAOS_SCALE (1 = `make chaos`; default 0.05 = the short CI
version run by `make test`).
"""
import datetime as dt

import pytest

from services.common.cli.rpc_client import cluster
from tests.reliability.figures import Meter, converge, measure
from tests.reliability.stack import scaled
from tests.reliability.workload import Workload

pytestmark = pytest.mark.integration
SERVICES = ("customers", "sales", "service_desk", "reporting")
KPI_KEYS = ("customers_new", "leads_new", "tickets_new", "sales_amount", "payments_received")
MANAGER = {"id": "chaos-boss", "roles": ["manager"], "department": "management"}


def this_year():
    return str(dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year)


def reporting_kpis(stack):
    with cluster(stack.config(), MANAGER, timeout=30) as p:
        return p.reporting.get_kpis(this_year())


def assert_kpis_match_sources(stack):
    """Reporting's KPIs equal the same KPIs recomputed from the sources' tables."""
    got, want = reporting_kpis(stack), stack.source_kpis()
    diff = {k: (got[k], want[k]) for k in KPI_KEYS if str(got[k]) != str(want[k])}
    assert not diff, f"reporting vs sources: {diff}"
    return got


def assert_clean(fig, dlq=0):
    assert fig.lost == 0, fig.line()
    assert fig.duplicated == 0, fig.line()
    assert fig.dlq == dlq, fig.line()


# 1 ----------------------------------------------------------------------------------------
def test_1_baseline_no_faults(make_stack):
    stack = make_stack("s1").start(*SERVICES)
    meter = Meter(stack)
    load = Workload(stack.config(), "s1", users=4, concurrency=6)
    load.run(scaled(10_000, 100))
    converge(stack, timeout=max(60, scaled(600)))
    fig = measure("1 baseline", stack, meter, writes=sum(load.outcomes.values()),
                  rpc_errors=sum(v for k, v in load.outcomes.items() if k != "ok"))
    assert_clean(fig)
    assert load.outcomes["ok"] > 0 and set(load.outcomes) == {"ok"}, load.errors[:5]
    assert_kpis_match_sources(stack)
