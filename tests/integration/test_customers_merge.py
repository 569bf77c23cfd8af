"""Duplicates and merge, end to end on the real broker with all five services
in-process (SQLite by default, PostgreSQL with CRM_TEST_DB=postgres): likely
duplicates come back as warnings on create, update and import; a manager merges two
records; sales, service_desk, marketing and reporting point their records of the
merged customer at the kept one; reporting's KPIs count it once; a replayed and a
duplicated ``customers_merged`` change nothing; the merged id answers ``Merged``."""
import copy
import datetime as dt
import time
import uuid

import eventlet
import pytest
import requests
from kombu import Connection, Producer

from services.common.auth import mint_token
from services.common.contract_bus import events_exchange_obj
from services.common.errors import Forbidden, Merged, NotFound, ValidationError
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.reporting.service import ReportingService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.integration.test_marketing_support import MK, plan
from tests.support import data
from tests.support.fixtures import actor, free_port

pytestmark = pytest.mark.integration
MANAGER = actor("merge-mgr", "manager", "sales")
BOSS = actor("merge-boss", "manager", "management")
SD = actor("merge-sd", "staff", "service")
ADMIN = actor("merge-admin", "admin", "management")


@pytest.fixture(scope="module")
def base(module_services):
    module_services(CustomersService, SalesService, ServiceDeskService, MarketingService,
                    ReportingService)
    port = free_port()
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _stack(base):
    return base


def eventually(check, timeout=25):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got or time.time() > deadline:
            return got
        eventlet.sleep(0.2)


def mobile():
    return f"137{uuid.uuid4().int % 10**8:08d}"


def company(word):
    return f"{word}{uuid.uuid4().hex[:6].upper()}精密机械"


def contact(m=None, primary=True, name="王芳"):
    return {"name": name, "title": "经理", "mobile": m or mobile(), "is_primary": primary}


def publish(config, envelope):
    with Connection(config["AMQP_URI"]) as conn:
        Producer(conn.channel()).publish(
            envelope, exchange=events_exchange_obj(envelope["source"]),
            routing_key=envelope["type"], serializer="json", delivery_mode=2, retry=True)


def month():
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")


# --- duplicates -----------------------------------------------------------------------
def test_create_warns_of_same_name_mobile_and_similar_name(rpc):
    owner = actor(f"dup-{uuid.uuid4().hex[:6]}")
    other = actor(f"dup-{uuid.uuid4().hex[:6]}")
    core, m = company("蓝天"), mobile()
    with rpc(other) as p:  # someone else's customer: staff learn it exists, no more
        first = p.customers.create_customer(data.customer(
            name=f"上海{core}有限公司", region="上海", contacts=[contact(m)]))
        assert first["duplicates"] == []
    with rpc(owner) as p:
        same = p.customers.create_customer(data.customer(
            name=f"上海{core}有限责任公司", region="上海"))
        assert same["duplicates"] == [{"id": first["id"], "name": first["name"],
                                       "reason": "same_name"}]
        by_mobile = p.customers.create_customer(data.customer(
            name=company("远山"), contacts=[contact(m)]))
        assert by_mobile["duplicates"] == [{"id": first["id"], "name": first["name"],
                                            "reason": "same_mobile"}]
        similar = p.customers.create_customer(data.customer(
            name=f"{core}（上海）集团有限公司", region="上海市"))
        assert {(d["id"], d["reason"]) for d in similar["duplicates"]} == {
            (first["id"], "similar_name_same_region"), (same["id"], "similar_name_same_region")}
        elsewhere = p.customers.create_customer(data.customer(
            name=f"{core}集团有限公司", region="北京"))
        assert elsewhere["duplicates"] == []  # similar name, another region
        with pytest.raises(NotFound):  # the warning shows no more than id and name
            p.customers.get_customer(first["id"])
        # update: renamed to an existing name → warned, and written
        renamed = p.customers.update_customer(elsewhere["id"], {"name": same["name"],
                                                                "region": "上海"})
        assert renamed["name"] == same["name"]
        assert {(d["id"], d["reason"]) for d in renamed["duplicates"]} >= {
            (first["id"], "same_name"), (same["id"], "same_name")}
        assert "mobile" not in str(renamed["duplicates"])


def test_import_warns_per_row_including_rows_of_the_same_chunk(rpc):
    owner = actor(f"dupi-{uuid.uuid4().hex[:6]}")
    core, m = company("海川"), mobile()
    rows = [{"name": f"{core}有限公司", "uscc": data.uscc(), "industry_code": "C35",
             "region": "上海", "type": "potential", "contact_name": "李雷",
             "contact_title": "经理", "contact_mobile": m},
            {"name": f"{core} 有限责任公司", "uscc": data.uscc(), "industry_code": "C35",
             "region": "上海", "type": "potential", "contact_name": "韩梅",
             "contact_title": "经理", "contact_mobile": mobile()},
            {"name": company("独立"), "uscc": data.uscc(), "industry_code": "C35",
             "region": "上海", "type": "potential", "contact_name": "张三",
             "contact_title": "经理", "contact_mobile": m}]
    with rpc(owner) as p:
        out = p.customers.import_customers(rows)
        assert (out["created"], out["updated"], out["errors"]) == (3, 0, [])
        by_row = {}
        for d in out["duplicates"]:
            by_row.setdefault(d["row"], set()).add(d["reason"])
        assert by_row == {1: {"same_name", "same_mobile"}, 2: {"same_name"},
                          3: {"same_mobile"}}


# --- merge ------------------------------------------------------------------------------
def test_staff_cannot_merge_and_bad_ids_are_refused(rpc):
    owner = actor(f"mst-{uuid.uuid4().hex[:6]}")
    with rpc(owner) as p:
        a = p.customers.create_customer(data.customer())
        b = p.customers.create_customer(data.customer())
        with pytest.raises(Forbidden):
            p.customers.merge_customers(a["id"], b["id"])
        assert p.customers.get_customer(b["id"])["id"] == b["id"]  # nothing happened
    with rpc(MANAGER) as p:
        with pytest.raises(ValidationError) as exc:
            p.customers.merge_customers(a["id"], a["id"])
        assert "merge_id" in exc.value.fields
        with pytest.raises(ValidationError) as exc:
            p.customers.merge_customers(a["id"], "x")
        assert "merge_id" in exc.value.fields


def test_merge_end_to_end_across_all_five_services(rpc, config, event_tap):
    tag = uuid.uuid4().hex[:6]
    owner = actor(f"mo-{tag}")
    tap = event_tap("customers", "customers_merged")
    with rpc(owner) as p:
        keep = p.customers.create_customer(data.customer(name=f"合并测试{tag}有限公司"))
        gone = p.customers.create_customer(data.customer(
            name=f"合并测试{tag}有限责任公司", tags=["老客户"],
            contacts=[contact(name="赵六")]))
        assert gone["duplicates"][0]["id"] == keep["id"]
        p.customers.add_attachment(gone["id"], "a.pdf",
                                   "JVBERi0xLjQKJcTl8uXrCjEgMCBvYmoKPDw+PgplbmRvYmoK")
        opp = p.sales.create_opportunity({
            "customer_id": gone["id"], "amount": "1000.00",
            "expected_close_date": "2030-01-15", "background": "b", "needs": "n"})
        order = p.sales.create_order({"customer_id": gone["id"], "delivery_date": "2030-02-01",
                                      "lines": [{"product": "设备", "quantity": "1",
                                                 "unit_price": "500.00"}]})
    with rpc(SD) as p:
        ticket = p.service_desk.open_ticket({
            "kind": "inquiry", "severity": "low", "customer_id": gone["id"],
            "complainant_name": "赵六", "complainant_contact": "x", "channel": "phone",
            "subject": "咨询", "description": "咨询"})
        care = p.service_desk.create_care_plan(gone["id"], "birthday",
                                               start_date="2030-01-01")
    with rpc(MK) as p:
        campaign = p.marketing.create_campaign(plan(format="online"))
        p.marketing.schedule_campaign(campaign["id"])
        part = p.marketing.register_participant(campaign["id"], {"customer_id": gone["id"]})

    def kpis():
        with rpc(BOSS) as p:
            return p.reporting.get_kpis(month(), {"owner_id": owner["id"]})
    assert eventually(lambda: kpis()["customers_new"] == 2), kpis()

    with rpc(MANAGER) as p:
        kept = p.customers.merge_customers(keep["id"], gone["id"])
    assert kept["id"] == keep["id"]
    assert set(kept["tags"]) == {"展会获取", "老客户"}
    assert {c["name"] for c in kept["contacts"]} == {"王芳", "赵六"}
    assert sum(1 for c in kept["contacts"] if c["is_primary"]) == 1
    with rpc(owner) as p:
        with pytest.raises(Merged) as exc:
            p.customers.get_customer(gone["id"])
        assert exc.value.kept_id == keep["id"] and exc.value.code == "MERGED"
        assert "MERGED" in str(exc.value) and f"kept_id: {keep['id']}" in str(exc.value)
        with pytest.raises(Merged):
            p.customers.update_customer(gone["id"], {"needs": "x"})
        with pytest.raises(Merged):
            p.customers.add_tags(gone["id"], ["x"])
        assert [a["filename"] for a in p.customers.list_attachments(keep["id"])] == ["a.pdf"]
        history = p.customers.get_history(keep["id"])
        actions = [(h["customer_id"], h["action"]) for h in history]
        assert (keep["id"], "merged") in actions and (gone["id"], "merged_into") in actions
        assert (gone["id"], "created") in actions  # the merged record's log came along
        assert p.customers.verify_history(keep["id"])["valid"]
        listed = p.customers.list_customers({}, page_size=100)["items"]
        assert gone["id"] not in {c["id"] for c in listed}
        row = {"name": gone["name"], "uscc": gone["uscc"], "industry_code": "C35",
               "type": "potential", "contact_name": "赵六", "contact_title": "经理",
               "contact_mobile": mobile()}
        out = p.customers.import_customers([row])  # the tombstone's USCC: reported, not written
        assert (out["created"], out["updated"]) == (0, 0)
        assert out["errors"][0]["fields"]["uscc"] == [f"merged into customer {keep['id']}"]
    with rpc(MANAGER) as p:
        with pytest.raises(Merged):  # merging a tombstone again
            p.customers.merge_customers(keep["id"], gone["id"])
        # the moved contact and attachment and the merged record are in the audit trail
        # (contact values masked), in the merge's own transaction: the chain verifies
        assert p.customers.verify_audit()["valid"]
        moved_contact = gone["contacts"][0]["id"]
        trail = p.customers.audit_trail("contact", moved_contact)
        assert (trail[-1]["action"], trail[-1]["actor"], trail[-1]["via"]) == (
            "customer_merged", MANAGER["id"], "customers.merge_customers")
        assert trail[-1]["before"]["customer_id"] == gone["id"]
        assert trail[-1]["after"]["customer_id"] == keep["id"]
        assert "赵六" not in str(trail) and gone["contacts"][0]["mobile"] not in str(trail)
        assert p.customers.verify_audit("contact", moved_contact)["valid"]
        att = p.customers.list_attachments(keep["id"])[0]["id"]
        moved_att = p.customers.audit_trail("attachment", att)[-1]
        assert (moved_att["action"], moved_att["before"], moved_att["after"]) == (
            "customer_merged", {"customer_id": gone["id"]}, {"customer_id": keep["id"]})
        tomb = [e for e in p.customers.audit_trail("customer", gone["id"])
                if (e["after"] or {}).get("merged_into_id")]
        assert [(e["actor"], e["after"]["merged_into_id"]) for e in tomb] == [
            (MANAGER["id"], keep["id"])]

    envelope = eventually(lambda: [e for e in tap.of_type("customers_merged")
                                   if e["data"]["merge_id"] == gone["id"]])[0]
    assert envelope["data"]["keep_id"] == keep["id"]
    assert "mobile" not in str(envelope["data"])

    def state():
        with rpc(MANAGER) as p:
            s = {"opp": p.sales.get_opportunity(opp["id"])["customer_id"],
                 "order": p.sales.get_order(order["id"])["customer_id"]}
        with rpc(SD) as p:
            s["ticket"] = p.service_desk.get_ticket(ticket["id"])["customer_id"]
            s["care"] = care["id"] in {c["id"] for c in p.service_desk.list_care_plans(
                keep["id"], page_size=100)["items"]}
        with rpc(MK) as p:
            s["part"] = p.marketing.get_participant(campaign["id"], part["id"])["customer_id"]
        s["kpis"] = kpis()
        return s

    moved = {"opp": keep["id"], "order": keep["id"], "ticket": keep["id"],
             "care": True, "part": keep["id"]}

    def settled():
        s = state()
        return s if ({k: s[k] for k in moved} == moved
                     and s["kpis"]["customers_new"] == 1) else None
    after = eventually(settled, timeout=30)
    assert after, state()

    # a replay (the same event id) and a duplicate (a new id, the same merge) change nothing
    again = copy.deepcopy(envelope)
    twin = dict(copy.deepcopy(envelope), event_id=str(uuid.uuid4()))
    publish(config, again)
    publish(config, twin)
    eventlet.sleep(3)
    assert state() == after
    with rpc(ADMIN) as p:  # replaying reporting's log gives the same KPIs
        assert p.reporting.rebuild()["events"] > 0
    assert kpis() == after["kpis"]


def test_an_older_tombstone_repointed_by_a_merge_is_audited(rpc):
    owner = actor(f"mt-{uuid.uuid4().hex[:6]}")
    with rpc(owner) as p:
        a, b, c = (p.customers.create_customer(data.customer(
            name=f"墓碑{owner['id']}{n}有限公司"))["id"] for n in "甲乙丙")
    with rpc(MANAGER) as p:
        p.customers.merge_customers(b, c)  # c → b, then b → a: c now points at a
        p.customers.merge_customers(a, b)
        moves = [(e["before"], e["after"]) for e in p.customers.audit_trail("customer", c)
                 if e["action"] == "customer_merged"]  # reads may come after it
        assert moves == [({"merged_into_id": b}, {"merged_into_id": a})]
        assert p.customers.verify_audit("customer", c)["valid"]
        assert p.customers.verify_audit()["valid"]


def test_json_api_merge_and_the_merged_id_answers_410(rpc, config, base):
    def headers(user, role):
        return {"Authorization": f"Bearer {mint_token(config, user, role, 'sales')}"}
    owner = f"mj-{uuid.uuid4().hex[:6]}"
    staff, manager = headers(owner, "staff"), headers("mj-mgr", "manager")
    a = requests.post(f"{base}/customers", json=data.customer(name=f"接口{owner}有限公司"),
                      headers=staff, timeout=10)
    b = requests.post(f"{base}/customers", json=data.customer(name=f"接口{owner}有限责任公司"),
                      headers=staff, timeout=10)
    assert (a.status_code, b.status_code) == (201, 201)
    a, b = a.json(), b.json()
    assert b["duplicates"] == [{"id": a["id"], "name": a["name"], "reason": "same_name"}]
    url = f"{base}/customers/{a['id']}/merge"
    r = requests.post(url, json={"merge_id": b["id"]}, headers=staff, timeout=10)
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    r = requests.post(url, json={}, headers=manager, timeout=10)
    assert r.status_code == 422 and "merge_id" in r.json()["fields"]
    r = requests.post(url, json={"merge_id": b["id"]}, headers=manager, timeout=10)
    assert r.status_code == 200 and r.json()["id"] == a["id"]
    r = requests.get(f"{base}/customers/{b['id']}", headers=staff, timeout=10)
    assert r.status_code == 410
    body = r.json()
    assert body["error"] == "MERGED" and body["kept_id"] == a["id"]
    assert body["fields"] == {"kept_id": [str(a["id"])]}
    other = headers("mj-other", "staff")  # someone else's tombstone: still just 404
    assert requests.get(f"{base}/customers/{b['id']}", headers=other,
                        timeout=10).status_code == 404
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    assert "/customers/{customer_id}/merge" in spec["paths"]
