"""The chaos suite (issue 8): whole service processes, real faults, loopback only.

Each scenario prints one line of figures and fails on any loss or double count.
Sizes scale with CRM_CHAOS_SCALE (1 = `make chaos`; default 0.05 = the short CI
version run by `make test`).
"""
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.rpc_client import cluster
from services.common.config import ROOT
from tests.reliability.conftest import teardown_stack
from tests.reliability.figures import Meter, Window, converge, measure
from tests.reliability.stack import BROKER, free_port, metric_sum, scaled, scrape, wait_for
from tests.reliability.workload import Workload
from tests.support.infra import unavailable

pytestmark = pytest.mark.integration
SERVICES = ("customers", "sales", "service_desk", "reporting")
KPI_KEYS = ("customers_new", "leads_new", "tickets_new", "sales_amount", "payments_received")
CRM = str(Path(sys.executable).with_name("crm"))
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


def publish_raw(amqp_uri, envelopes):
    """Publish envelopes as a source's relay would (confirms, persistent)."""
    from kombu import Connection, Producer

    from services.common.contract_bus import events_exchange_obj
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        for e in envelopes:
            producer.publish(e, exchange=events_exchange_obj(e["source"]), routing_key=e["type"],
                             serializer="json", delivery_mode=2, mandatory=True, retry=True,
                             message_id=e["event_id"], type=e["type"])


def unacked(stack):
    """Messages delivered to consumers and not yet acked (broker side), summed."""
    from tests.reliability.stack import rabbitmqctl
    r = rabbitmqctl("list_queues", "-p", stack.vhost.name, "-q", "--no-table-headers",
                    "name", "messages_unacknowledged", node=stack.vhost.node, timeout=15)
    total = 0
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("evt-") and parts[1].isdigit():
            total += int(parts[1])
    return total


# 1, 2, 7, 6, 8 --------------------------------------------------------------------------
class TestOneStack:
    """Scenarios 1, 2, 7, 6 and 8 in turn on one whole stack (started once, like the
    others, and torn down after the last of them). Each measures its own window
    (``figures.Window``): its committed / applied / redeliveries / max lag are of
    the events it made; lost and duplicated are counted over the whole stack, and
    the KPI check compares the whole stack, so sharing can hide nothing. Every
    scenario also runs alone (``-k``) on a fresh shared stack."""

    @pytest.fixture
    def on_shared(self, shared_stack):
        stack = shared_stack
        if not hasattr(stack, "meter"):
            stack.meter = Meter(stack)
        down = [name for name in SERVICES if not stack.alive(name)]
        if down:
            stack.start(*down)
        converge(stack, timeout=60)  # what an earlier scenario left is settled first
        return stack, stack.meter, Window(stack, stack.meter)

    # 1 ------------------------------------------------------------------------------------
    def test_1_baseline_no_faults(self, on_shared):
        stack, meter, window = on_shared
        load = Workload(stack.config(), "s1", users=4, concurrency=6)
        load.run(scaled(10_000, 100))
        converge(stack, timeout=max(60, scaled(600)))
        fig = measure("1 baseline", stack, meter, window=window,
                      writes=sum(load.outcomes.values()),
                      rpc_errors=sum(v for k, v in load.outcomes.items() if k != "ok"))
        assert_clean(fig)
        assert sum(load.outcomes.values()) == scaled(10_000, 100)  # the size at scale 1
        assert load.outcomes["ok"] > 0 and set(load.outcomes) == {"ok"}, load.errors[:5]
        assert_kpis_match_sources(stack)

    # 2 ------------------------------------------------------------------------------------
    def test_2_reporting_down_while_events_published(self, on_shared):
        stack, meter, window = on_shared
        meter.bank()
        rc = stack.kill("reporting", signal.SIGTERM, timeout=30)
        assert rc == 0, f"reporting exited {rc} on SIGTERM: {stack.tail('reporting')}"
        load = Workload(stack.config(), "s2", concurrency=6)
        load.run(scaled(3000, 100))
        wait_for(lambda: stack.unsent() == 0, 60, what="outboxes drained")
        waiting = stack.queue_depth("reporting")
        assert waiting >= len(window.committed()), "events must wait in reporting's queues"
        assert waiting >= scaled(3000, 100), "the issue's size: 3,000 events waiting"
        stack.start("reporting")
        converge(stack, timeout=max(60, scaled(300)))
        fig = measure("2 reporting-down", stack, meter, window=window, waiting_at_start=waiting)
        assert_clean(fig)
        assert_kpis_match_sources(stack)

    # 7 ------------------------------------------------------------------------------------
    def test_7_resent_and_day_replayed_twice(self, on_shared):
        stack, meter, window = on_shared
        load = Workload(stack.config(), "s7", concurrency=6)
        load.run(scaled(2000, 100))
        converge(stack, timeout=max(60, scaled(300)))
        before = reporting_kpis(stack)
        dup_before = meter.duplicates()
        committed = list(window.committed().values())  # this scenario's day, as when alone
        resent = random.sample(committed, max(1, len(committed) // 10))
        today = dt.datetime.now(dt.UTC).date().isoformat()
        day = [e for e in committed if e["occurred_at"].startswith(today)]
        publish_raw(stack.amqp_uri, resent)
        publish_raw(stack.amqp_uri, day)
        publish_raw(stack.amqp_uri, day)
        injected = len(resent) + 2 * len(day)
        wait_for(lambda: meter.duplicates() - dup_before >= injected, max(60, scaled(600)), 0.5,
                 "every injected duplicate counted")
        after = reporting_kpis(stack)
        fig = measure("7 resend+replay", stack, meter, window=window, injected=injected,
                      counted=meter.duplicates() - dup_before)
        assert_clean(fig)
        assert meter.duplicates() - dup_before == injected
        assert after == before, "KPI difference must be 0"
        assert_kpis_match_sources(stack)

    # 6 ------------------------------------------------------------------------------------
    def test_6_poison_event_dead_lettered_then_replayed(self, on_shared):
        from services.contract import queue_name
        from services.reporting import domain
        from tests.reliability.figures import dlq_depth
        stack, meter, window = on_shared
        assert stack.delivery_limit == 3
        assert dlq_depth(stack.amqp_uri) == 0

        def retries():
            return metric_sum(scrape(stack.ports["reporting"]), "crm_events_retried_total")

        retried_before = retries()
        load = Workload(stack.config(), "s6", concurrency=6)
        load.run(scaled(1000, 60) // 2)
        converge(stack, timeout=60)
        good = [e for e in window.committed().values() if e["type"] == "opportunity_created"]
        if not good:
            load.run(20)
            converge(stack, timeout=60)
            good = [e for e in window.committed().values() if e["type"] == "opportunity_created"]
        poison = json.loads(json.dumps(good[0]))
        poison["event_id"] = str(uuid.uuid4())
        oid = poison["data"]["opportunity_id"]
        poison["data"]["opportunity_id"] = (oid + 10**9) if isinstance(oid, int) else f"{oid}-p"
        kind, entity_id = domain.entity_of(poison)
        # The poison: a corrupt row of the same entity in reporting's event log makes every
        # apply of it fail (the fold cannot read it) until an operator removes it (the "fix").
        db = sqlite3.connect(str(stack.dir / "reporting.db"), timeout=30)
        db.execute("INSERT INTO event_log (event_id, source, type, occurred_at, envelope, "
                   "entity_kind, entity_id, applied_at, lag_seconds) VALUES "
                   "(?, 'sales', 'opportunity_created', '2026-01-01 00:00:00', '{}', ?, ?, "
                   "'2026-01-01 00:00:00', 0)", (str(uuid.uuid4()), kind, str(entity_id)))
        db.commit()
        publish_raw(stack.amqp_uri, [poison])
        load.run(scaled(1000, 60) - scaled(1000, 60) // 2)  # the rest of the good ones
        queue = queue_name("sales", "opportunity_created", "reporting", "apply_event")
        wait_for(lambda: dlq_depth(stack.amqp_uri) == 1, 60, what="poison dead-lettered")
        converge(stack, timeout=60)
        inbox, *_ = stack.applied()
        good_ids = set(window.committed())
        assert len(good_ids) >= scaled(1000, 60), "the issue's size: 1,000 good events"
        assert good_ids <= set(inbox), "every good event applied despite the poison"
        assert poison["event_id"] not in inbox

        def alert():
            s = scrape(stack.ports["reporting"])
            return metric_sum(s, "crm_dlq_depth", service="reporting") >= 1
        wait_for(alert, 45, 1, "crm_dlq_depth alert metric raised")
        retried = retries() - retried_before
        # the fix, then `crm dlq replay`
        db.execute("DELETE FROM event_log WHERE entity_kind = ? AND entity_id = ? AND "
                   "envelope = '{}'", (kind, str(entity_id)))
        db.commit()
        db.close()
        env = dict(os.environ, AMQP_URI=stack.amqp_uri)
        out = subprocess.run([CRM, "dlq", "replay", queue], env=env, capture_output=True,
                             text=True, timeout=60, cwd=str(ROOT))
        assert out.returncode == 0 and "replayed 1" in out.stdout, out.stdout + out.stderr
        converge(stack, timeout=60, extra_ids=[poison["event_id"]])
        fig = measure("6 poison", stack, meter, window=window, extra_ids=[poison["event_id"]],
                      retries_before_dlq=int(retried), replayed=1)
        assert_clean(fig)
        assert retried >= 2, "bounded retries happened before dead-lettering"
        wait_for(lambda: not alert(), 45, 1, "crm_dlq_depth back to 0")


    # 8 ------------------------------------------------------------------------------------
    def test_8_sigterm_with_workers_in_flight(self, on_shared):
        stack, meter, window = on_shared
        meter.bank()
        assert stack.kill("reporting", signal.SIGTERM, timeout=30) == 0, stack.tail("reporting")
        load = Workload(stack.config(), "s8", concurrency=6)
        load.run(scaled(2000, 150))
        wait_for(lambda: stack.unsent() == 0, 60, what="outboxes drained")
        mine = set(window.committed())
        stack.start("reporting")
        wait_for(lambda: len(mine & set(stack.applied()[0])) > 10, 30, 0.05, "reporting busy")
        meter.bank()
        backlog = stack.queue_depth("reporting")
        began = time.time()
        rc = stack.kill("reporting", signal.SIGTERM, timeout=30)
        exit_reporting = time.time() - began
        assert rc == 0, f"reporting exited {rc} on SIGTERM: {stack.tail('reporting')}"
        stack.start("reporting")
        converge(stack, timeout=max(60, scaled(300)))
        redelivered_reporting = meter.duplicates() - window.dup_before
        meter.bank()
        stack.kill("reporting", signal.SIGTERM, timeout=30)
        # a source with RPC workers and its relay in flight
        burst = load.spawn(scaled(600, 60))
        time.sleep(1.0)
        began = time.time()
        rc_sales = stack.kill("sales", signal.SIGTERM, timeout=30)
        exit_sales = time.time() - began
        stack.start("sales")  # back at once: the burst's later calls reach the new process
        burst.wait()
        stack.start("reporting")
        converge(stack, timeout=max(60, scaled(300)))
        fig = measure("8 sigterm", stack, meter, window=window, rc_reporting=rc,
                      rc_sales=rc_sales, backlog_at_sigterm=backlog,
                      exit_reporting=f"{exit_reporting:.1f}s", exit_sales=f"{exit_sales:.1f}s",
                      redelivered_after_reporting_sigterm=redelivered_reporting,
                      republished_after_source_sigterm=meter.duplicates() - window.dup_before
                      - redelivered_reporting)
        assert_clean(fig)
        assert rc_sales == 0, stack.tail("sales")
        # running workers finish, waiting deliveries go back untouched: a prompt exit
        assert exit_reporting <= 15 and exit_sales <= 15, (exit_reporting, exit_sales)
        assert redelivered_reporting == 0, "an applied event was redelivered after SIGTERM"
        assert fig.redeliveries == 0, "the stopped relay re-published an event it had sent"
        assert_kpis_match_sources(stack)


# 3 ----------------------------------------------------------------------------------------
def test_3_kill9_reporting_during_burst(make_stack):
    stack = make_stack("s3").start("customers", "sales", "service_desk")
    meter = Meter(stack)
    load = Workload(stack.config(), "s3", concurrency=6)
    load.run(scaled(1500, 300))  # a backlog so reporting is busy from its first second
    kills = max(4, scaled(20))
    writes, base, kills_over = scaled(5000, 600), sum(load.outcomes.values()), []
    # the burst writes until the kills are over (at least ``writes``): at the CI scale a
    # fixed burst was done, and reporting idle, before the later kills (0 in flight)
    burst = load.spawn(writes * 100, stop=lambda: kills_over
                       and sum(load.outcomes.values()) - base >= writes)
    stack.start("reporting")
    in_flight = 0
    rng = random.Random()
    done = 0
    # more kills (up to 3x) while none has caught a delivery in flight
    while done < kills or (in_flight == 0 and done < 3 * kills):
        done += 1
        # the kill lands while reporting consumes: timed from start() alone, on a slow
        # box every kill could come before the new process had subscribed (CI, 4 kills)
        wait_for(lambda: stack.consumers_ready("reporting"), 60, 0.1, "reporting consuming")
        time.sleep(rng.uniform(0.3, 1.2))
        in_flight += unacked(stack)
        meter.bank()
        stack.kill("reporting", signal.SIGKILL)
        stack.start("reporting")
    kills_over.append(True)
    burst.wait()
    converge(stack, timeout=max(90, scaled(600)))
    fig = measure("3 kill-9 reporting", stack, meter, kills=done, unacked_at_kill=in_flight)
    assert_clean(fig)
    assert fig.redeliveries + in_flight > 0, "the kills never hit an in-flight event"
    assert_kpis_match_sources(stack)


# 4 ----------------------------------------------------------------------------------------
def test_4_kill9_source_between_commit_and_publish(make_stack):
    stack = make_stack("s4").start(*SERVICES)
    meter = Meter(stack)
    load = Workload(stack.config(), "s4", concurrency=8, rpc_timeout=5)
    burst = load.spawn(scaled(4000, 200))
    kills, hits, drains = max(4, scaled(12)), 0, []
    victims = ("sales", "customers")
    for i in range(kills):
        victim = victims[i % 2]
        time.sleep(random.uniform(0.3, 1.0))
        deadline = time.time() + 5  # kill the moment its relay has a batch in hand
        while stack.unsent(victim) == 0 and time.time() < deadline:
            time.sleep(0.01)
        hits += stack.unsent(victim) > 0
        stack.kill(victim, signal.SIGKILL)
        stack.start(victim)
        began = time.time()
        wait_for(lambda v=victim: stack.unsent(v) == 0, 30, 0.1, f"{victim} outbox drained")
        drains.append(time.time() - began)
    burst.wait()
    converge(stack, timeout=max(90, scaled(600)))
    fig = measure("4 kill-9 source", stack, meter, kills=kills, unsent_at_kill=hits,
                  max_drain=f"{max(drains):.1f}s",
                  rpc_failed=sum(v for k, v in load.outcomes.items() if k != "ok"))
    assert_clean(fig)
    assert hits > 0, "no kill caught an unsent outbox row"
    assert max(drains) <= 10, drains
    assert_kpis_match_sources(stack)


# 9 ----------------------------------------------------------------------------------------
def test_9_network_cut_longer_than_heartbeat(make_stack, chaos_dir):
    port = free_port()
    upstream = BROKER.rsplit(":", 1)[1].split("/")[0]
    proxy = subprocess.Popen([sys.executable, "-m", "tests.reliability.netproxy", str(port),
                              upstream], cwd=str(ROOT), stdout=subprocess.PIPE, text=True)
    try:
        proxy.stdout.readline()
        stack = None
        heartbeat = 5
        stack = make_stack("s9", heartbeat=heartbeat)
        via_proxy = stack.amqp_uri.replace(f":{upstream}/", f":{port}/")
        stack.service_amqp = {"sales": via_proxy, "reporting": via_proxy}
        stack.start(*SERVICES)
        meter = Meter(stack)
        load = Workload(stack.config(), "s9", concurrency=6, rpc_timeout=5)
        writes, restored = scaled(3000, 150), []

        def calls():
            return sum(load.outcomes.values())

        def failed():
            return sum(v for k, v in load.outcomes.items() if k != "ok")

        def enough():  # the burst spans the cut: at least `writes`, and 3 s past its end
            return calls() >= writes and restored and time.time() > restored[0] + 3

        burst = load.spawn(writes * 100, stop=enough)
        time.sleep(2)
        proxy.send_signal(signal.SIGUSR1)
        failed_at_cut = failed()
        cut = heartbeat * 3
        time.sleep(cut)
        during = failed() - failed_at_cut  # calls to the cut-off sales end in a timeout
        proxy.send_signal(signal.SIGUSR2)
        restored.append(time.time())
        burst.wait()
        wait_for(lambda: stack.consumers_ready("sales") and stack.consumers_ready("reporting"),
                 60, 0.5, "sales and reporting reconnected")
        converge(stack, timeout=max(90, scaled(600)))
        fig = measure("9 network cut", stack, meter, cut=f"{cut}s",
                      rpc_failed=sum(v for k, v in load.outcomes.items() if k != "ok"),
                      failed_during_cut=during)
        assert stack.alive("sales") and stack.alive("reporting"), "reconnect, not crash"
        assert_clean(fig)
        assert during > 0, "no call to the cut-off sales failed: the cut hit no traffic"
        assert_kpis_match_sources(stack)
    finally:
        if stack is not None:
            teardown_stack(stack)  # while the proxy still carries their connections
        proxy.terminate()
        proxy.wait(10)


# 5 ----------------------------------------------------------------------------------------
def test_5_broker_restart_under_load(make_stack):
    from tests.reliability.broker import PrivateBroker, available
    if not available():
        unavailable("rabbitmq-server", "not installed: no private node for the broker restart")
    broker = PrivateBroker().start()
    stack = None
    try:
        stack = make_stack("s5", base=broker.uri, node=broker.node, rpc_timeout=4)
        stack.start(*SERVICES, "customers_gateway")
        meter = Meter(stack)
        load = Workload(stack.config(), "s5", concurrency=6, rpc_timeout=5)
        writes, back = scaled(3000, 200), []

        def calls():
            return sum(load.outcomes.values())

        def enough():  # the burst spans the restart: at least `writes`, and 3 s past it
            return calls() >= writes and back and time.time() > back[0] + 3

        burst = load.spawn(writes * 100, stop=enough)
        time.sleep(2)
        token = mint_token(stack.config(), "s5-u0", "staff", "sales")
        broker.stop_app()
        calls_at_stop = calls()
        statuses, slowest = [], 0.0
        t_end = time.time() + 6
        while time.time() < t_end:
            began = time.time()
            try:
                r = requests.get(stack.url("customers_gateway") + "/customers",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=15)
                statuses.append(r.status_code)
            except requests.RequestException as exc:
                statuses.append(type(exc).__name__)
            slowest = max(slowest, time.time() - began)
        during = calls() - calls_at_stop
        broker.start_app()
        back.append(time.time())
        burst.wait()
        for name in SERVICES:
            wait_for(lambda n=name: stack.consumers_ready(n), 90, 0.5, f"{name} reconnected")
        load.run(scaled(200, 20))  # and everything works again
        converge(stack, timeout=max(90, scaled(600)))
        fig = measure("5 broker restart", stack, meter, gateway_503=statuses.count(503),
                      rpc_failed=sum(v for k, v in load.outcomes.items() if k != "ok"),
                      slowest_rpc=f"{load.max_call:.1f}s", calls_while_down=during)
        assert_clean(fig)
        assert during > 0, "no RPC was attempted while the broker was away"
        assert statuses and set(statuses) == {503}, statuses
        assert slowest <= 4 + 3, f"gateway answered after {slowest:.1f}s"
        assert load.max_call <= 5 + 5, f"an RPC hung for {load.max_call:.1f}s"
        assert_kpis_match_sources(stack)
    finally:
        if stack is not None:
            teardown_stack(stack)  # before its broker goes away
        broker.stop()
