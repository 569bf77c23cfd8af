"""service_desk over real RabbitMQ and a real DB (SQLite or PostgreSQL): every RPC,
validation with nothing written, BOLA, events exactly once and contract-valid,
timer-driven SLA breaches, surveys, reopen, care tasks, FAQ search."""
import datetime as dt
import uuid

import pytest
from nameko.containers import ServiceContainer

from services.common.cli.demo import demo_customers
from services.common.errors import Conflict, Forbidden, NotFound, ValidationError
from services.contract.events import validate_event
from services.customers.service import CustomersService
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor
from tests.support.standards import RIC_SAMPLE

pytestmark = pytest.mark.integration

AGENT_A, AGENT_B = f"sa-{uuid.uuid4().hex[:6]}", f"sb-{uuid.uuid4().hex[:6]}"
STAFF_A = actor(AGENT_A, "staff", "service")
STAFF_B = actor(AGENT_B, "staff", "service")
MANAGER = actor("sd-manager", "manager", "service")
ADMIN = actor("sd-admin", "admin", "management")
ALL_TYPES = ("ticket_opened", "ticket_assigned", "ticket_responded", "ticket_resolved",
             "ticket_closed", "ticket_reopened", "ticket_sla_breached", "survey_answered",
             "care_visit_completed")


@pytest.fixture(scope="module")
def desk(config):
    """customers + service_desk, started once; the SLA timer fires every 0.3 s."""
    containers = []
    for cls in (CustomersService, ServiceDeskService):
        c = ServiceContainer(cls, dict(config, SLA_CHECK_INTERVAL=0.3))
        c.start()
        containers.append(c)
    yield
    for c in reversed(containers):
        c.stop()


@pytest.fixture(scope="module")
def roster(desk, config):
    from services.common.cli.rpc_client import cluster
    with cluster(config, MANAGER) as p:
        for agent in (AGENT_A, AGENT_B):
            p.service_desk.set_agent(agent, {"name": agent, "categories": [f"cat-{agent}"]})


@pytest.fixture
def tap(event_tap):
    return event_tap("service_desk", *ALL_TYPES)


def new_customer(proxy, **changes):
    seed = uuid.uuid4().int % 10**9
    data = next(demo_customers(1, ["sales-1"], seed=seed))
    data.update(changes)
    return proxy.customers.create_customer(data)


def ticket_data(customer_id, **over):
    data = {"kind": "complaint", "severity": "high", "customer_id": customer_id,
            "complainant_name": "王女士", "complainant_contact": "13812345678",
            "channel": "phone", "subject": "设备故障", "description": "设备开机后报警，无法使用。"}
    data.update(over)
    return data


def events_for(tap, ticket_id, event_type):
    return [e for e in tap.of_type(event_type) if e["data"].get("ticket_id") == ticket_id]


def wait_events(tap, ticket_id, event_type, count=1, timeout=10):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = events_for(tap, ticket_id, event_type)
        if len(got) >= count:
            return got
        import eventlet
        eventlet.sleep(0.05)
    raise AssertionError(f"expected {count} {event_type} for ticket {ticket_id}, "
                         f"got {len(events_for(tap, ticket_id, event_type))}")


def assert_valid(events):
    for e in events:
        assert validate_event(e) == {}, (e["type"], validate_event(e))


@pytest.fixture(scope="module")
def customer(desk, config):
    from services.common.cli.rpc_client import cluster
    with cluster(config) as p:
        return new_customer(p)


def open_for(rpc, customer, agent=AGENT_A, **over):
    """A ticket opened by the manager and assigned to ``agent``."""
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket(ticket_data(customer["id"], **over))
        return p.service_desk.assign_ticket(t["id"], agent)


# --- tickets --------------------------------------------------------------------
def test_ticket_lifecycle_events_exactly_once(roster, customer, rpc, tap):
    t = open_for(rpc, customer, severity="medium")
    assert t["assignee_id"] == AGENT_A and t["status"] == "open"
    opened = dt.datetime.fromisoformat(t["opened_at"])
    assert dt.datetime.fromisoformat(t["first_response_due_at"]) - opened == dt.timedelta(hours=8)
    assert dt.datetime.fromisoformat(t["resolution_due_at"]) - opened == dt.timedelta(hours=72)
    with rpc(STAFF_A) as p:
        sd = p.service_desk
        sd.respond(t["id"], "您好，已收到，工程师今天联系您。")
        sd.add_progress(t["id"], "已安排工程师上门", True)
        sd.add_coordination(t["id"], "logistics", "请物流部核实备件发货时间")
        sd.respond(t["id"], "备件明天到。")
        done = sd.resolve_ticket(t["id"], "更换主板后恢复正常", "product_defect")
        assert done["status"] == "resolved" and done["root_cause"] == "product_defect"
        closed = sd.close_ticket(t["id"])
    assert closed["status"] == "closed"
    entries = [e for e in closed["entries"] if e["kind"] != "assignment"]
    assert [e["kind"] for e in entries] == ["opened", "response", "progress", "coordination",
                                            "response", "resolution", "close"]
    assert entries[3]["department"] == "logistics"
    assert entries[2]["notify_customer"] is True
    for etype, n in (("ticket_opened", 1), ("ticket_responded", 2),
                     ("ticket_resolved", 1), ("ticket_closed", 1)):
        wait_events(tap, t["id"], etype, n)
    tap.settle(0.5)
    responded = events_for(tap, t["id"], "ticket_responded")
    assert [e["data"]["first_response"] for e in responded] == [True, False]
    assert events_for(tap, t["id"], "ticket_resolved")[0]["data"]["within_sla"] is True
    assert len(events_for(tap, t["id"], "ticket_closed")) == 1
    assert len(events_for(tap, t["id"], "ticket_opened")) == 1
    mine = [e for e in tap.events if e["data"].get("ticket_id") == t["id"]]
    assert_valid(mine)
    assert "13812345678" not in str(mine)  # complainant contact never in events


def test_illegal_transitions_are_conflicts(roster, customer, rpc):
    t = open_for(rpc, customer)
    with rpc(STAFF_A) as p:
        sd = p.service_desk
        with pytest.raises(Conflict):
            sd.close_ticket(t["id"])
        with pytest.raises(Conflict):
            sd.reopen_ticket(t["id"], "x")
        sd.resolve_ticket(t["id"], "已解决", "usage_question")
        with pytest.raises(Conflict):
            sd.resolve_ticket(t["id"], "again", "other")
        with pytest.raises(Conflict):
            sd.respond(t["id"], "late answer")
        with pytest.raises(Conflict):
            sd.add_progress(t["id"], "note", False)
        sd.close_ticket(t["id"])
        with pytest.raises(Conflict):
            sd.close_ticket(t["id"])
    with rpc(MANAGER) as p, pytest.raises(Conflict):
        p.service_desk.assign_ticket(t["id"], AGENT_B)


def test_resolve_without_response_counts_as_first_response(roster, customer, rpc, tap):
    t = open_for(rpc, customer, kind="inquiry", severity="low")
    with rpc(STAFF_A) as p:
        done = p.service_desk.resolve_ticket(t["id"], "电话解答", "usage_question")
    assert done["first_responded_at"] == done["resolved_at"]
    ev = wait_events(tap, t["id"], "ticket_responded")
    assert ev[0]["data"]["first_response"] is True


def test_reopen_clears_resolution_and_restarts_clock(roster, customer, rpc, tap):
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)).isoformat()
    with rpc(ADMIN) as p:
        t = p.service_desk.open_ticket(ticket_data(customer["id"], severity="critical"), at=past)
        p.service_desk.assign_ticket(t["id"], AGENT_A)
    with rpc(STAFF_A) as p:
        p.service_desk.resolve_ticket(t["id"], "重启解决", "other")
        again = p.service_desk.reopen_ticket(t["id"], "客户反馈问题复现")
    assert again["status"] == "in_progress" and again["reopen_count"] == 1
    assert again["resolution"] is None and again["root_cause"] is None
    assert again["resolved_at"] is None and again["resolution_breached_at"] is None
    due = dt.datetime.fromisoformat(again["resolution_due_at"])
    assert abs((due - dt.datetime.now(dt.UTC)) - dt.timedelta(hours=4)) < dt.timedelta(minutes=1)
    ev = wait_events(tap, t["id"], "ticket_reopened")
    assert ev[0]["data"]["resolution_due_at"] == again["resolution_due_at"]
    assert_valid(ev)


def test_validation_refuses_and_writes_nothing(roster, customer, rpc, tap):
    with rpc(MANAGER) as p:
        sd = p.service_desk
        before = sd.list_tickets({}, 1, 1)["total"]
        bad = [ticket_data(customer["id"], kind="praise"),
               ticket_data(customer["id"], severity="urgent"),
               ticket_data(customer["id"], channel="fax"),
               ticket_data(customer["id"], subject=""),
               dict(ticket_data(customer["id"]), unknown_field=1),
               {k: v for k, v in ticket_data(customer["id"]).items() if k != "description"}]
        for data in bad:
            with pytest.raises(ValidationError):
                sd.open_ticket(data)
        with pytest.raises(ValidationError) as err:
            sd.open_ticket(ticket_data(customer["id"],
                                       description=f"客户身份证号 {RIC_SAMPLE} 请核实"))
        assert err.value.code == "SENSITIVE_DATA" and "description" in err.value.fields
        with pytest.raises(ValidationError) as err:
            sd.open_ticket(ticket_data(99_999_999))
        assert "customer_id" in err.value.fields
        assert sd.list_tickets({}, 1, 1)["total"] == before
        t = open_for(rpc, customer)
        with pytest.raises(ValidationError):
            sd.resolve_ticket(t["id"], "done", "bad_luck")
        with pytest.raises(ValidationError):
            sd.add_coordination(t["id"], "", "note")
        with pytest.raises(ValidationError):
            sd.assign_ticket(t["id"], "not-an-agent")
        with pytest.raises(ValidationError):
            sd.list_tickets({"severity": "urgent"})
        assert sd.get_ticket(t["id"])["status"] == "open"
    with rpc(STAFF_A) as p, pytest.raises(Forbidden):
        p.service_desk.respond(t["id"], "hi", at="2026-01-01T00:00:00+00:00")


def test_bola_staff_see_only_their_tickets(roster, customer, rpc):
    t = open_for(rpc, customer, agent=AGENT_A)
    with rpc(STAFF_B) as p:
        sd = p.service_desk
        for call in (lambda: sd.get_ticket(t["id"]), lambda: sd.respond(t["id"], "x"),
                     lambda: sd.resolve_ticket(t["id"], "x", "other"),
                     lambda: sd.add_progress(t["id"], "x", False),
                     lambda: sd.submit_survey(t["id"], 5), lambda: sd.get_survey(t["id"]),
                     lambda: sd.assign_ticket(t["id"], AGENT_B)):
            with pytest.raises(NotFound):
                call()
        assert all(x["assignee_id"] == AGENT_B for x in sd.list_tickets()["items"])
    with rpc(STAFF_A) as p:
        ids = [x["id"] for x in p.service_desk.list_tickets({}, 1, 100)["items"]]
        assert t["id"] in ids
        with pytest.raises(Forbidden):
            p.service_desk.assign_ticket(t["id"], AGENT_B)
    with rpc(MANAGER) as p:
        moved = p.service_desk.assign_ticket(t["id"], AGENT_B)
    assert moved["entries"][-1]["from_assignee"] == AGENT_A
    with rpc(STAFF_A) as p, pytest.raises(NotFound):
        p.service_desk.get_ticket(t["id"])


def test_auto_assignment_least_loaded_by_category(desk, customer, rpc, tap):
    cat = f"cat-{uuid.uuid4().hex[:6]}"
    a1, a2 = f"x1-{cat}", f"x2-{cat}"
    with rpc(MANAGER) as p:
        sd = p.service_desk
        sd.set_agent(a1, {"categories": [cat]})
        sd.set_agent(a2, {"categories": [cat]})
        got = [sd.open_ticket(ticket_data(customer["id"], category=cat))["assignee_id"]
               for _ in range(4)]
        assert sorted(got) == sorted([a1, a2, a1, a2])
        agents = {a["agent_id"]: a for a in sd.list_agents()}
        assert agents[a1]["open_tickets"] == 2 == agents[a2]["open_tickets"]
        sd.set_agent(a2, {"categories": [cat], "active": False})
        assert sd.open_ticket(ticket_data(customer["id"], category=cat))["assignee_id"] == a1
        t = sd.open_ticket(ticket_data(customer["id"], category=cat))
        sd.set_agent(a2, {"categories": [cat], "active": True})
        back = sd.assign_ticket(t["id"])  # None: least loaded again
        assert back["assignee_id"] == a2
    with rpc(STAFF_A) as p, pytest.raises(Forbidden):
        p.service_desk.set_agent("x", {})
    ev = wait_events(tap, t["id"], "ticket_assigned")
    assert ev[0]["data"]["previous_assignee_id"] == a1 and ev[0]["data"]["auto"] is True


def test_sla_breach_by_timer_exactly_once_per_clock(roster, customer, rpc, tap):
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).isoformat()
    with rpc() as p:  # system call: ``at`` honoured
        t = p.service_desk.open_ticket(ticket_data(customer["id"], severity="critical"), at=past)
    got = wait_events(tap, t["id"], "ticket_sla_breached", 2)
    assert sorted(e["data"]["clock"] for e in got) == ["first_response", "resolution"]
    with rpc(MANAGER) as p:
        p.service_desk.scan_sla_breaches()  # a manual scan finds nothing more
        p.service_desk.scan_sla_breaches()
        row = p.service_desk.get_ticket(t["id"])
    tap.settle(1.0)  # ~3 more timer passes
    assert len(events_for(tap, t["id"], "ticket_sla_breached")) == 2
    assert row["first_response_breached_at"] and row["resolution_breached_at"]
    assert_valid(got)
    fr = next(e for e in got if e["data"]["clock"] == "first_response")
    assert fr["data"]["due_at"] == t["first_response_due_at"]
    assert fr["occurred_at"] == fr["data"]["due_at"].replace("Z", "+00:00")


def test_reopened_ticket_can_breach_its_new_clock(roster, customer, rpc, tap):
    now = dt.datetime.now(dt.UTC)
    with rpc() as p:
        sd = p.service_desk
        t = sd.open_ticket(ticket_data(customer["id"], severity="critical"),
                           at=(now - dt.timedelta(hours=30)).isoformat())
        sd.respond(t["id"], "收到", at=(now - dt.timedelta(hours=29, minutes=30)).isoformat())
        sd.resolve_ticket(t["id"], "已处理", "delivery",
                          at=(now - dt.timedelta(hours=29)).isoformat())
        reopened = sd.reopen_ticket(t["id"], "复发",
                                    at=(now - dt.timedelta(hours=6)).isoformat())
        sd.scan_sla_breaches(at=now.isoformat())
    wait_events(tap, t["id"], "ticket_sla_breached", 1)
    tap.settle(0.8)
    # The background SLA timer scans in real time and may run between the
    # back-dated calls above (the first resolution clock then looks overdue
    # until the back-dated resolve lands): judge the clock the reopen started.
    got = [e for e in events_for(tap, t["id"], "ticket_sla_breached")
           if e["data"]["due_at"] == reopened["resolution_due_at"]]
    assert [e["data"]["clock"] for e in got] == ["resolution"]  # the new clock, once


def test_late_response_is_reported_as_breach(roster, customer, rpc, tap):
    now = dt.datetime.now(dt.UTC)
    with rpc() as p:
        t = p.service_desk.open_ticket(ticket_data(customer["id"], severity="medium"),
                                       at=(now - dt.timedelta(hours=9)).isoformat())
        r = p.service_desk.respond(t["id"], "抱歉久等", at=(now - dt.timedelta(hours=0.5))
                                   .isoformat())
    ev = wait_events(tap, t["id"], "ticket_responded")
    assert ev[0]["data"]["within_sla"] is False
    got = wait_events(tap, t["id"], "ticket_sla_breached")
    assert got[0]["data"]["clock"] == "first_response"
    assert r["first_responded_at"]


def test_survey_once_after_resolution(roster, customer, rpc, tap):
    t = open_for(rpc, customer)
    with rpc(STAFF_A) as p:
        sd = p.service_desk
        with pytest.raises(Conflict):
            sd.submit_survey(t["id"], 5, "too early")
        sd.resolve_ticket(t["id"], "已退款", "billing")
        for bad in (0, 6, "5", None):
            with pytest.raises(ValidationError):
                sd.submit_survey(t["id"], bad)
        s = sd.submit_survey(t["id"], 4, "处理及时")
        assert s["score"] == 4 and sd.get_survey(t["id"])["comment"] == "处理及时"
        with pytest.raises(Conflict):
            sd.submit_survey(t["id"], 5)
    ev = wait_events(tap, t["id"], "survey_answered")
    tap.settle(0.3)
    assert len(events_for(tap, t["id"], "survey_answered")) == 1
    assert ev[0]["data"]["score"] == 4 and ev[0]["data"]["assignee_id"] == AGENT_A
    assert_valid(ev)


def test_metrics_open_by_severity_and_breaches(roster, customer, rpc):
    from prometheus_client import REGISTRY
    with rpc(MANAGER) as p:
        p.service_desk.open_ticket(ticket_data(customer["id"], severity="low"))
        scan = p.service_desk.scan_sla_breaches()
    assert scan["open_by_severity"]["low"] >= 1
    assert REGISTRY.get_sample_value("crm_tickets_open", {"severity": "low"}) >= 1
    assert REGISTRY.get_sample_value("crm_ticket_sla_breaches_total",
                                     {"severity": "critical", "clock": "resolution"}) >= 1
    with rpc(STAFF_A) as p, pytest.raises(Forbidden):
        p.service_desk.scan_sla_breaches()


# --- care plans -------------------------------------------------------------------
def test_care_plans_due_tasks_and_visits(desk, rpc, tap, event_tap):
    visits = event_tap("service_desk", "care_visit_completed")
    with rpc() as p:
        c = new_customer(p, cooperation_since="2020-01-01")
        c["contacts"][0]["birthday"] = "1985-12-05"
        p.customers.update_customer(c["id"], {"contacts": [
            {k: v for k, v in c["contacts"][0].items() if k != "id"}]})
    with rpc(STAFF_A) as p:
        sd = p.service_desk
        bday = sd.create_care_plan(c["id"], "birthday", start_date="2026-11-01")
        sd.create_care_plan(c["id"], "holiday", start_date="2026-01-01")
        exp = sd.create_care_plan(c["id"], "contract_expiry", expiry_date="2027-03-15",
                                  start_date="2026-11-01")
        assert exp["reminder_date"] == "2026-12-15" and bday["assignee_id"] == AGENT_A
        with pytest.raises(Conflict):
            sd.create_care_plan(c["id"], "holiday")
        with pytest.raises(ValidationError):
            sd.create_care_plan(c["id"], "contract_expiry")
        with pytest.raises(ValidationError):
            sd.create_care_plan(99_999_999, "holiday")
        with pytest.raises(ValidationError):
            sd.create_care_plan(c["id"], "anniversary")
        visit = sd.create_care_plan(c["id"], "periodic_visit", start_date="2026-11-01")
        assert visit["interval_days"] == 90  # key customer (cooperation ≥ 2 years)
        assert visit["auto"] is False and visit["assignee_id"] == AGENT_A

        def titles(date, overdue=False):
            with rpc(MANAGER) as m:  # the timer's work for that day (a read makes none)
                m.service_desk.generate_care_tasks(date)
            return sorted(x["title"] for x in sd.due_care_tasks(date, overdue)["items"]
                          if x["customer_id"] == c["id"])
        assert titles("2026-12-05") == [f"生日祝福：{c['contacts'][0]['name']}"]
        assert titles("2026-10-01") == ["节日问候：国庆节"]
        assert titles("2026-10-02") == []
        assert titles("2026-12-15") == ["合同到期提醒：2027-03-15 到期"]
        assert titles("2027-01-30") == ["定期回访"]
        overdue = titles("2026-12-20", True)
        assert "合同到期提醒：2027-03-15 到期" in overdue
        task = next(x for x in sd.due_care_tasks("2026-12-15")["items"]
                    if x["kind"] == "contract_expiry" and x["customer_id"] == c["id"])
        with pytest.raises(ValidationError):
            sd.record_visit(task["id"], "pigeon", "x", 5)
        with pytest.raises(ValidationError):
            sd.record_visit(task["id"], "phone", "x", 9)
        done = sd.record_visit(task["id"], "phone", "客户同意续约，下月签署", 5)
        assert done["status"] == "done" and done["visitor_id"] == AGENT_A
        with pytest.raises(Conflict):
            sd.record_visit(task["id"], "phone", "again", 5)
        assert "合同到期提醒：2027-03-15 到期" not in titles("2026-12-20", True)
    with rpc(STAFF_B) as p:
        assert all(x["assignee_id"] == AGENT_B
                   for x in p.service_desk.due_care_tasks("2026-12-15")["items"])
        with pytest.raises(NotFound):
            p.service_desk.record_visit(task["id"], "phone", "x", 3)
    with rpc(MANAGER) as p:  # the automatic plan (customer event) was claimed, not doubled
        plans = p.service_desk.list_care_plans(c["id"])["items"]
    assert [x["kind"] for x in plans if x["active"]].count("periodic_visit") == 1
    ev = visits.wait_for(1, "care_visit_completed")
    visits.settle(0.3)
    mine = [e for e in visits.events if e["data"]["task_id"] == task["id"]]
    assert len(mine) == 1 and mine[0]["data"]["satisfaction"] == 5
    assert_valid(ev)


def test_periodic_visit_refused_for_normal_tier(desk, rpc):
    with rpc() as p:
        c = new_customer(p, cooperation_since=None, influence=1)
    with rpc(MANAGER) as p, pytest.raises(Conflict):
        p.service_desk.create_care_plan(c["id"], "periodic_visit")


def test_customer_events_keep_tier_and_auto_visit_plan(desk, rpc):
    import eventlet
    with rpc() as p:
        c = new_customer(p, cooperation_since="2019-06-01")
    assert c["tier"] == "key"
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    plans = []
    while dt.datetime.now() < deadline and not plans:
        with rpc(MANAGER) as p:
            plans = [x for x in p.service_desk.list_care_plans(c["id"])["items"]
                     if x["kind"] == "periodic_visit" and x["auto"]]
        eventlet.sleep(0.1)
    assert plans and plans[0]["interval_days"] == 90 and plans[0]["active"]
    with rpc() as p:
        p.customers.mark_lost(c["id"], "price")
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while dt.datetime.now() < deadline:
        with rpc(MANAGER) as p:
            plans = [x for x in p.service_desk.list_care_plans(c["id"])["items"]
                     if x["kind"] == "periodic_visit" and x["auto"]]
        if not plans[0]["active"]:
            break
        eventlet.sleep(0.1)
    assert not plans[0]["active"]


# --- FAQ --------------------------------------------------------------------------
def test_faq_publish_search_hits_and_top(desk, rpc):
    tag = uuid.uuid4().hex[:6]
    cat = f"售后{tag}"
    entries = [("退货流程是什么？", "登录后在订单页提交退货申请，三个工作日内审核。", "退货"),
               ("发票怎么开？", "在订单页申请电子发票，退货后发票作废。", "发票"),
               ("设备报警怎么办", "请先断电重启；仍报警请联系售后工程师。", ""),
               ("How do I reset the VPN password?", "Use the self-service portal.", "vpn")]
    with rpc(STAFF_A) as p:
        sd = p.service_desk
        ids = [sd.create_faq({"question": q, "answer": a, "category": cat,
                              "keywords": k})["id"] for q, a, k in entries]
        with pytest.raises(ValidationError):
            sd.create_faq({"question": "x", "answer": "", "category": cat})
        draft = sd.update_faq(ids[2], {"answer": "请先断电重启设备；仍报警请联系售后工程师。"})
        assert draft["status"] == "draft"
    with rpc(actor("sd-sales", "staff", "sales")) as p, pytest.raises(Forbidden):
        p.service_desk.publish_faq(ids[0])  # agents and managers publish, not sales staff
    with rpc(MANAGER) as p:
        sd = p.service_desk
        assert sd.search_faq("退货", cat)["items"] == []  # drafts are not searchable
        for i in ids:
            sd.publish_faq(i)
        with pytest.raises(Conflict):
            sd.publish_faq(ids[0])
        with pytest.raises(NotFound):
            sd.publish_faq(99_999_999)
    with rpc() as p:  # the public self-service path is a system call
        sd = p.service_desk
        res = sd.search_faq("如何办理退货", cat)
        assert [x["id"] for x in res["items"]][:2] == [ids[0], ids[1]]
        assert res["items"][0]["score"] > res["items"][1]["score"]
        assert [x["id"] for x in sd.search_faq("报警", cat)["items"]] == [ids[2]]
        assert [x["id"] for x in sd.search_faq("vpn PASSWORD", cat)["items"]] == [ids[3]]
        assert sd.search_faq("量子纠缠", cat)["items"] == []
        with pytest.raises(ValidationError):
            sd.search_faq("")
        sd.search_faq("退货流程", cat)
        top = sd.top_faq(3, cat)
        assert top[0]["id"] == ids[0] and top[0]["hits"] == 2
        assert sd.get_faq(ids[0])["hits"] == 2
    with rpc(MANAGER) as p:
        p.service_desk.unpublish_faq(ids[3])
        assert p.service_desk.search_faq("vpn", cat)["items"] == []
        assert p.service_desk.list_faqs({"category": cat})["total"] == 4


def test_open_ticket_gauge_is_recounted_at_most_every_few_seconds(roster, customer, rpc,
                                                                 monkeypatch):
    """Writes recount the gauge at most every GAUGE_REFRESH s (the recount visits
    every open ticket); the SLA scan always recounts."""
    from prometheus_client import REGISTRY

    from services.service_desk import service as desk

    # a window no slow box outlasts between the two writes (the 2 s default made the
    # test depend on the second open_ticket answering within 2 s: failed on PostgreSQL
    # under load)
    monkeypatch.setattr(desk, "GAUGE_REFRESH", 300.0)

    def gauge():
        return REGISTRY.get_sample_value("crm_tickets_open", {"severity": "medium"})
    with rpc(MANAGER) as p:
        desk._gauge_refreshed_at[0] = float("-inf")
        p.service_desk.open_ticket(ticket_data(customer["id"], severity="medium"))
        first = gauge()
        p.service_desk.open_ticket(ticket_data(customer["id"], severity="medium"))
        assert gauge() == first  # within GAUGE_REFRESH of the last recount: not recounted
        scan = p.service_desk.scan_sla_breaches()
        assert gauge() == scan["open_by_severity"]["medium"] == first + 1
