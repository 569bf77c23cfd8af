"""What the service workspace needs from service_desk, on the real broker and DB:
the opener keeps seeing a reassigned ticket, root causes over a period with
improvement actions, care tasks made by the timer (a read makes none), the
customer picker over the service desk's own copy, single-use expiring survey
links, public FAQ articles; and their JSON routes."""
import datetime as dt
import random
import time
import uuid
from zoneinfo import ZoneInfo

import jwt
import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.common.errors import Conflict, Forbidden, NotFound, ValidationError
from services.customers.service import CustomersService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor, free_port

pytestmark = pytest.mark.integration

TAG = uuid.uuid4().hex[:6]
OPENER = actor(f"op-{TAG}", "staff", "service")
AGENT_A = actor(f"wa-{TAG}", "staff", "service")
AGENT_B = actor(f"wb-{TAG}", "staff", "service")
OUTSIDER = actor(f"wx-{TAG}", "staff", "service")
MANAGER = actor(f"wm-{TAG}", "manager", "service")
ADMIN = actor(f"wadm-{TAG}", "admin", "management")


@pytest.fixture(scope="module")
def base(module_services, config):
    module_services(CustomersService)
    module_services(ServiceDeskService, CARE_TASK_INTERVAL=0.5)
    port = free_port()
    module_services(ServiceDeskGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    from services.common.cli.rpc_client import cluster
    with cluster(config, MANAGER) as p:
        for a in (AGENT_A, AGENT_B):
            p.service_desk.set_agent(a["id"], {"name": a["id"], "categories": []})
    return f"http://127.0.0.1:{port}"


def new_customer(p, **changes):
    data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
    data.update(changes)
    return p.customers.create_customer(data)


@pytest.fixture(scope="module")
def customer(base, config):
    from services.common.cli.rpc_client import cluster
    with cluster(config) as p:
        return new_customer(p, name=f"杭州{TAG}精密仪器有限公司")


def ticket_data(customer_id, **over):
    data = {"kind": "complaint", "severity": "high", "customer_id": customer_id,
            "complainant_name": "王女士", "complainant_contact": "13812345678",
            "channel": "phone", "subject": "设备故障", "description": "设备开机后报警。"}
    data.update(over)
    return data


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        time.sleep(0.1)


# --- (a) the opener keeps seeing the ticket ---------------------------------------
def test_opener_keeps_seeing_ticket_after_reassignment(base, customer, rpc):
    with rpc(OPENER) as p:
        t = p.service_desk.open_ticket(ticket_data(customer["id"]))
    # the contact in clear only to whoever handles the call (policy 003 三(四)4): the
    # opener while nobody else has it, then the assignee; a manager reviewing and the
    # opener after the hand-over see it masked
    assert t["complainant_contact"] == (
        "13812345678" if t["assignee_id"] in (None, OPENER["id"]) else "138****5678")
    with rpc(MANAGER) as p:
        moved = p.service_desk.assign_ticket(t["id"], AGENT_B["id"])
    assert moved["assignee_id"] == AGENT_B["id"] and moved["opened_by"] == OPENER["id"]
    assert moved["complainant_contact"] == "138****5678"
    with rpc(OPENER) as p:
        sd = p.service_desk
        seen = sd.get_ticket(t["id"])
        assert seen["id"] == t["id"] and seen["customer_name"] == customer["name"]
        assert seen["complainant_contact"] == "138****5678"
        listed = {x["id"]: x for x in sd.list_tickets({}, 1, 100)["items"]}
        assert listed[t["id"]]["complainant_contact"] == "138****5678"
        with pytest.raises(NotFound):  # seeing is not acting: the assignee answers
            sd.respond(t["id"], "我来回复")
    with rpc(OUTSIDER) as p:  # neither opened nor assigned: not found, not listed
        with pytest.raises(NotFound):
            p.service_desk.get_ticket(t["id"])
        assert t["id"] not in [x["id"] for x in p.service_desk.list_tickets({}, 1, 100)["items"]]
        with pytest.raises(NotFound):
            p.service_desk.get_survey(t["id"])
    with rpc(AGENT_B) as p:
        assert p.service_desk.get_ticket(t["id"])["complainant_contact"] == "13812345678"
        assert p.service_desk.respond(t["id"], "已收到")["status"] == "in_progress"


def test_queue_sorted_by_running_clock_and_searchable(base, customer, rpc):
    with rpc(MANAGER) as p:
        sd = p.service_desk
        low = sd.open_ticket(ticket_data(customer["id"], severity="low", subject=f"低 QX{TAG}"))
        crit = sd.open_ticket(ticket_data(customer["id"], severity="critical",
                                          subject=f"急 QX{TAG}"))
        high = sd.open_ticket(ticket_data(customer["id"], severity="high",
                                          subject=f"高 QX{TAG}"))
        done = sd.open_ticket(ticket_data(customer["id"], severity="critical",
                                          subject=f"完 QX{TAG}"))
        for t in (low, crit, done):
            sd.assign_ticket(t["id"], AGENT_B["id"])
        sd.assign_ticket(high["id"], AGENT_A["id"])
        sd.resolve_ticket(done["id"], "已处理", "other")
        rows = sd.list_tickets({"q": f"QX{TAG}", "sort": "due"}, 1, 50)["items"]
        # due times from the SLA table (contract §5): critical 1 h, high 4 h, low 24 h;
        # a resolved ticket has no running clock and goes last
        assert [r["id"] for r in rows] == [crit["id"], high["id"], low["id"], done["id"]]
        assert [r["id"] for r in sd.list_tickets(
            {"q": f"QX{TAG}", "sort": "due", "active": True}, 1, 50)["items"]] == [
            crit["id"], high["id"], low["id"]]
        by_customer = sd.list_tickets({"q": customer["name"][2:10]}, 1, 100)["items"]
        assert {crit["id"], low["id"]} <= {r["id"] for r in by_customer}
        assert [r["id"] for r in sd.list_tickets({"q": f"#{high['id']}"})["items"]] == [
            high["id"]]
        # a bare number: the ticket with that id, and tickets whose text holds the number
        # (an order number in the subject); "#" asks for the id alone
        digits = str(random.randrange(10**7, 10**8))
        noted = sd.open_ticket(ticket_data(customer["id"], subject=f"订单 {digits} 未到"))
        assert [r["id"] for r in sd.list_tickets({"q": digits})["items"]] == [noted["id"]]
        by_number = {r["id"] for r in sd.list_tickets({"q": str(high["id"]),
                                                        "customer_id": customer["id"]},
                                                       1, 100)["items"]}
        assert high["id"] in by_number
        with pytest.raises(ValidationError) as err:
            sd.list_tickets({"sort": "random"})
        assert "sort" in err.value.fields
    with rpc(AGENT_A) as p:
        mine = p.service_desk.list_tickets({"q": f"QX{TAG}", "sort": "due"}, 1, 50)["items"]
        assert [r["id"] for r in mine] == [high["id"]]


# --- (b) root causes --------------------------------------------------------------
def test_root_causes_over_a_period_with_improvement_actions(base, customer, rpc):
    year = random.randint(2060, 2099)  # a period nobody else writes into
    day = dt.datetime(year, 5, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 Asia/Shanghai

    def at(hours):
        return (day + dt.timedelta(hours=hours)).isoformat()

    with rpc(ADMIN) as p:
        sd = p.service_desk

        def resolved(kind, cause, hours):
            t = sd.open_ticket(ticket_data(customer["id"], kind=kind), at=at(0))
            return sd.resolve_ticket(t["id"], "处理完毕", cause, at=at(hours))

        counted = [resolved("complaint", "product_defect", 1),
                   resolved("complaint", "product_defect", 2),
                   resolved("complaint", "delivery", 3)]
        resolved("inquiry", "usage_question", 1)  # not a complaint
        again = resolved("complaint", "billing", 1)
        sd.reopen_ticket(again["id"], "客户不满意", at=at(2))  # no longer resolved
        # 2060-05-20 22:00 Asia/Shanghai is still 05-20; 16:30 UTC is 05-21 00:30 there
        outside = resolved("complaint", "service_attitude", 14.5)
        tied = sd.record_improvement({"root_cause": "product_defect", "ticket_id":
                                      counted[0]["id"], "action": "来料检验增加开机老化测试",
                                      "department": "product"}, at=at(30 * 24))
        sd.record_improvement({"root_cause": "service_attitude", "ticket_id": outside["id"],
                               "action": "不计入本期"}, at=at(5))
        loose = sd.record_improvement({"root_cause": "delivery",
                                       "action": "与物流商约定48小时到货"}, at=at(5))
        sd.record_improvement({"root_cause": "delivery", "action": "period after"},
                              at=at(24 * 40))
        with pytest.raises(ValidationError) as err:
            sd.record_improvement({"root_cause": "bad_luck", "action": "x"})
        assert set(err.value.fields) == {"root_cause", "action"}
    with rpc(STAFF := AGENT_A) as p:
        report = p.service_desk.root_causes(f"{year}-05-20..{year}-05-20")
        assert STAFF  # staff read the counts too
    assert report["total"] == 3
    counts = {i["root_cause"]: i["count"] for i in report["items"]}
    assert counts == {"product_defect": 2, "delivery": 1, "billing": 0,
                      "service_attitude": 0, "usage_question": 0, "other": 0}
    assert report["items"][0]["root_cause"] == "product_defect"
    assert report["items"][0]["label"] == "产品缺陷"
    assert abs(report["items"][0]["share"] - 2 / 3) < 1e-4
    actions = {i["root_cause"]: [a["id"] for a in i["actions"]] for i in report["items"]}
    assert actions["product_defect"] == [tied["id"]]  # tied to a counted complaint
    assert actions["delivery"] == [loose["id"]]  # no ticket, recorded in the period
    assert actions["service_attitude"] == []
    with rpc(AGENT_A) as p:
        q2 = p.service_desk.root_causes(f"{year}-Q2")
        assert q2["first_day"] == f"{year}-04-01" and q2["last_day"] == f"{year}-06-30"
        assert {i["root_cause"]: i["count"] for i in q2["items"]}["service_attitude"] == 1
        for bad in ("2026-13", "Q4", "2026-11-31..2026-12-01", None):
            with pytest.raises(ValidationError) as err:
                p.service_desk.root_causes(bad)
            assert "period" in err.value.fields


# --- (c) care tasks made by the timer ------------------------------------------------
def _three_months_later(day):
    month = day.month + 3
    return dt.date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, day.day)


def test_care_tasks_come_from_the_timer_not_from_a_read(base, rpc):
    with rpc() as p:
        c = new_customer(p)
    with rpc(AGENT_A) as p:
        sd = p.service_desk
        far = sd.create_care_plan(c["id"], "contract_expiry", expiry_date="2071-06-15")
        assert far["reminder_date"] == "2071-03-15"

        def mine(date):
            return [x for x in sd.due_care_tasks(date, False)["items"]
                    if x["plan_id"] == far["id"]]
        assert mine("2071-03-15") == [] and mine("2071-03-15") == []  # reads make nothing
        with pytest.raises(Forbidden):
            sd.generate_care_tasks("2071-03-15")
    with rpc(MANAGER) as p:
        assert p.service_desk.generate_care_tasks("2071-03-15")["created"] >= 1
        with pytest.raises(ValidationError):
            p.service_desk.generate_care_tasks("2071-02-30")
    with rpc(AGENT_A) as p:
        sd = p.service_desk
        got = mine("2071-03-15")
        assert [x["title"] for x in got] == ["合同到期提醒：2071-06-15 到期"]
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        if today.day > 28:
            pytest.skip("month-end clamping is unit-tested; the timer half needs day <= 28")
        expiry = _three_months_later(today)
        plan = sd.create_care_plan(c["id"], "contract_expiry", expiry_date=expiry.isoformat())
        assert plan["reminder_date"] == today.isoformat()
        # nobody asks for generation: the timer (every 0.5 s here) makes today's task
        found = wait_for(lambda: [x for x in sd.due_care_tasks(today.isoformat(), False)[
            "items"] if x["plan_id"] == plan["id"]])
        assert len(found) == 1 and found[0]["status"] == "due"


# --- (d) customer picker ------------------------------------------------------------
def test_search_customers_from_own_copy_contact_masked(base, customer, rpc):
    primary = next(c for c in customer["contacts"] if c.get("is_primary"))
    with rpc(OUTSIDER) as p:
        hits = wait_for(lambda: [h for h in p.service_desk.search_customers(TAG)
                                 if h["id"] == customer["id"] and h["contact"]])
    assert len(hits) == 1
    hit = hits[0]
    assert hit["name"] == customer["name"]
    mobile = primary["mobile"]
    assert hit["contact"] == f"{primary['name']} {mobile[:3]}****{mobile[-4:]}"
    assert mobile not in str(hit)
    assert set(hit) == {"id", "name", "contact", "tier", "type"}
    with rpc(OUTSIDER) as p, pytest.raises(ValidationError) as err:
        p.service_desk.search_customers("")
    assert "q" in err.value.fields


# --- (e) survey links -----------------------------------------------------------------
def _resolved_ticket(rpc, customer, agent=AGENT_A):
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket(ticket_data(customer["id"]))
        p.service_desk.assign_ticket(t["id"], agent["id"])
    with rpc(agent) as p:
        return p.service_desk.resolve_ticket(t["id"], "已更换", "product_defect")


def test_survey_link_signed_single_use(base, customer, rpc, config):
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket(ticket_data(customer["id"]))
        p.service_desk.assign_ticket(t["id"], AGENT_A["id"])
    with rpc(AGENT_A) as p, pytest.raises(Conflict):  # not resolved yet
        p.service_desk.issue_survey_link(t["id"])
    with rpc(AGENT_A) as p:
        p.service_desk.resolve_ticket(t["id"], "已更换", "product_defect")
        link = p.service_desk.issue_survey_link(t["id"], 7)
    assert link["path"] == f"/app/survey/{link['token']}"
    with rpc(OUTSIDER) as p, pytest.raises(NotFound):  # issuing needs the ticket
        p.service_desk.issue_survey_link(t["id"])
    token = link["token"]
    with rpc() as p:  # the customer: no actor, the token is the credential
        sd = p.service_desk
        info = sd.survey_link_info(token)
        assert info == {"state": "open", "ticket_id": t["id"], "kind": "complaint",
                        "resolved_on": info["resolved_on"]}
        with pytest.raises(ValidationError) as err:
            sd.answer_survey_link(token, 6, None)
        assert "score" in err.value.fields
        survey = sd.answer_survey_link(token, 4, "工程师很专业")
        assert survey["score"] == 4 and survey["recorded_by"] == "customer"
        with pytest.raises(Conflict) as err:
            sd.answer_survey_link(token, 5, "again")
        assert err.value.code == "SURVEY_LINK_USED"
        assert sd.survey_link_info(token)["state"] == "used"
        # tampered payload (another ticket id) and a token signed with another key
        head, payload, sig = token.split(".")
        for bad in (f"{head}.{payload[:-2]}xx.{sig}", jwt.encode(
                {"aud": "kehu-crm-survey", "tid": t["id"], "jti": "x", "exp": 4102444800},
                "not-the-secret-0123456789abcdef0123456789", algorithm="HS256"), "short"):
            with pytest.raises(NotFound):
                sd.answer_survey_link(bad, 5, None)
            with pytest.raises(NotFound):
                sd.survey_link_info(bad)
    with rpc(AGENT_A) as p:
        assert p.service_desk.get_survey(t["id"])["score"] == 4
        with pytest.raises(Conflict):  # answered: no new link
            p.service_desk.issue_survey_link(t["id"])


def test_expired_survey_link_refused_and_writes_nothing(base, customer, rpc):
    t = _resolved_ticket(rpc, customer)
    with rpc(ADMIN) as p:  # issued 3 days ago, valid 1 day
        issued = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
        link = p.service_desk.issue_survey_link(t["id"], 1, at=issued)
    with rpc() as p:
        assert p.service_desk.survey_link_info(link["token"])["state"] == "expired"
        with pytest.raises(Conflict) as err:
            p.service_desk.answer_survey_link(link["token"], 5, None)
        assert err.value.code == "SURVEY_LINK_EXPIRED"
    with rpc(AGENT_A) as p:
        with pytest.raises(NotFound):
            p.service_desk.get_survey(t["id"])
        # the agent can still record the survey taken by phone
        assert p.service_desk.submit_survey(t["id"], 3, "电话回访")["recorded_by"] == AGENT_A["id"]


# --- (f) public FAQ ---------------------------------------------------------------------
def test_public_faq_article_published_only(base, rpc):
    with rpc(MANAGER) as p:
        sd = p.service_desk
        f = sd.create_faq({"question": f"如何申请退货{TAG}", "answer": "七天内在订单页申请。",
                           "category": "售后"})
        with pytest.raises(NotFound):
            sd.get_public_faq(f["id"])
        sd.publish_faq(f["id"])
    with rpc() as p:
        art = p.service_desk.get_public_faq(f["id"])
        assert set(art) == {"id", "question", "answer", "category", "published_at"}
        with pytest.raises(NotFound):
            p.service_desk.get_public_faq(99_999_999)
    with rpc(MANAGER) as p:
        assert p.service_desk.get_faq(f["id"])["hits"] == 1


# --- JSON routes --------------------------------------------------------------------------
def test_json_routes(base, customer, config, rpc):
    def h(who):
        return {"Authorization": "Bearer " + mint_token(config, who["id"], who["roles"][0],
                                                        who["department"])}
    t = _resolved_ticket(rpc, customer)
    r = requests.post(f"{base}/tickets/{t['id']}/survey-link", json={"days": 3},
                      headers=h(AGENT_A))
    assert r.status_code == 201 and r.json()["path"].startswith("/app/survey/")
    r = requests.post(f"{base}/tickets/{t['id']}/survey-link", json={"days": 99},
                      headers=h(AGENT_A))
    assert r.status_code == 422 and "days" in r.json()["fields"]
    r = requests.get(f"{base}/root-causes", params={"period": "2026-12"}, headers=h(AGENT_A))
    assert r.status_code == 200 and len(r.json()["items"]) == 6
    assert requests.get(f"{base}/root-causes", params={"period": "x"},
                        headers=h(AGENT_A)).json()["fields"].keys() == {"period"}
    assert requests.get(f"{base}/root-causes?period=2026-12").status_code == 401
    r = requests.post(f"{base}/improvements", headers=h(AGENT_A), json={
        "root_cause": "delivery", "action": "发货前电话确认地址", "ticket_id": t["id"]})
    assert r.status_code == 201 and r.json()["ticket_id"] == t["id"]
    r = requests.post(f"{base}/improvements", headers=h(OUTSIDER), json={
        "root_cause": "delivery", "action": "x y", "ticket_id": t["id"]})
    assert r.status_code == 404
    r = requests.get(f"{base}/customers/search", params={"q": TAG}, headers=h(OUTSIDER))
    assert r.status_code == 200 and customer["id"] in [c["id"] for c in r.json()]
    assert requests.post(f"{base}/care-tasks/generate", headers=h(AGENT_A)).status_code == 403
    r = requests.post(f"{base}/care-tasks/generate?date=2071-01-01", headers=h(MANAGER))
    assert r.status_code == 200 and r.json()["date"] == "2071-01-01"
    r = requests.get(f"{base}/tickets", params={"mine": "true", "sort": "due"},
                     headers=h(MANAGER))
    assert r.status_code == 200
    paths = requests.get(f"{base}/openapi.json").json()["paths"]
    for path in ("/root-causes", "/improvements", "/customers/search",
                 "/tickets/{ticket_id}/survey-link", "/care-tasks/generate"):
        assert path in paths
