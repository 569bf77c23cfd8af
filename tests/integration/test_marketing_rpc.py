"""marketing over real RPC: every method, state machine, audience through the real
customers service, participants, leads exactly once, outreach, access, validation."""
import json
import random

import pytest

from services.common.config import var_dir
from services.common.errors import Conflict, Forbidden, NotFound, ValidationError
from services.contract.events import validate_event
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from tests.integration.test_marketing_support import (
    ADMIN,
    MGR,
    MK,
    MK2,
    SALES,
    contact,
    customers,
    plan,
    running_campaign,
    tag,
)
from tests.support import data
from tests.support.standards import RIC_SAMPLE, bank_card, grouped, luhn_valid

pytestmark = pytest.mark.integration
RID = RIC_SAMPLE  # GB 11643-1999's published sample resident ID


@pytest.fixture(scope="module", autouse=True)
def _services(module_services):
    module_services(CustomersService, MarketingService)


# --- plan and state machine ------------------------------------------------------
def test_lifecycle_events_once_and_illegal_transitions(rpc, event_tap):
    tap = event_tap("marketing", "campaign_launched", "campaign_completed")
    t = tag()
    with rpc(MGR) as p:
        ids = customers(p, 3, tags=[t])
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(audience={"tags_all": [t]}))
        assert c["state"] == "draft" and c["owner_id"] == "mk1" and c["cost"] == "40000.00"
        assert [m["status"] for m in c["milestones"]] == ["overdue", "open"]
        assert c["milestones_overdue"] == 1 and c["audience"] == {"tags_all": [t]}
        for bad in ("launch_campaign", "complete_campaign"):
            with pytest.raises(Conflict) as exc:
                getattr(p.marketing, bad)(c["id"])
            assert exc.value.code == "ILLEGAL_TRANSITION"
        assert p.marketing.schedule_campaign(c["id"])["state"] == "scheduled"
        with pytest.raises(Conflict):
            p.marketing.schedule_campaign(c["id"])
        launched = p.marketing.launch_campaign(c["id"])
        assert launched["state"] == "running" and launched["audience_size"] == 3
        with pytest.raises(Conflict):
            p.marketing.launch_campaign(c["id"])
        done = p.marketing.complete_campaign(c["id"])
        assert done["state"] == "completed" and done["completed_at"]
        with pytest.raises(Conflict):
            p.marketing.cancel_campaign(c["id"], "too late")
        audience = p.marketing.get_audience(c["id"], page_size=100)
        assert sorted(a["customer_id"] for a in audience["items"]) == sorted(ids)
    launched_ev = tap.wait_for(1, "campaign_launched")
    tap.wait_for(1, "campaign_completed")
    events = [e for e in tap.settle(0.5) if e["data"]["campaign_id"] == c["id"]]
    assert sorted(e["type"] for e in events) == ["campaign_completed", "campaign_launched"]
    for e in events:
        assert validate_event(e) == {}
    assert launched_ev[-1]["data"]["audience_size"] == 3


def test_cancel_from_each_open_state(rpc):
    with rpc(MK) as p:
        draft = p.marketing.create_campaign(plan(format="online", location=None))
        assert p.marketing.cancel_campaign(draft["id"], "预算取消")["state"] == "cancelled"
        with pytest.raises(Conflict):
            p.marketing.schedule_campaign(draft["id"])
        running = running_campaign(p, audience={"tags_all": [tag()]})
        assert running["audience_size"] == 0
        out = p.marketing.cancel_campaign(running["id"], "天气原因")
        assert out["state"] == "cancelled" and out["cancel_reason"] == "天气原因"
        with pytest.raises(ValidationError):
            p.marketing.cancel_campaign(running["id"], "")


def test_schedule_needs_location_for_offline(rpc):
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(format="salon", location=None))
        with pytest.raises(ValidationError) as exc:
            p.marketing.schedule_campaign(c["id"])
        assert "location" in exc.value.fields
        assert p.marketing.get_campaign(c["id"])["state"] == "draft"


def test_update_plan_only_before_running_cost_until_completed(rpc):
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(format="online"))
        up = p.marketing.update_campaign(c["id"], {"theme": "线上直播", "version": c["version"]})
        assert up["theme"] == "线上直播" and up["version"] == c["version"] + 1
        with pytest.raises(Conflict) as exc:
            p.marketing.update_campaign(c["id"], {"goal": "x", "version": c["version"]})
        assert exc.value.code == "STALE_VERSION"
        with pytest.raises(ValidationError) as exc:
            p.marketing.update_campaign(c["id"], {"ends_at": "2026-11-30T09:00:00+08:00"})
        assert "ends_at" in exc.value.fields
        p.marketing.schedule_campaign(c["id"])
        p.marketing.launch_campaign(c["id"])
        with pytest.raises(Conflict):
            p.marketing.update_campaign(c["id"], {"theme": "改名"})
        with pytest.raises(ValidationError) as exc:  # more than 2 places: refused, not rounded
            p.marketing.update_campaign(c["id"], {"cost": "12345.675"})
        assert "cost" in exc.value.fields
        assert p.marketing.update_campaign(c["id"], {"cost": "12345.68"})["cost"] == "12345.68"


def test_milestones(rpc):
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan())
        m = p.marketing.add_milestone(c["id"], {"title": "嘉宾邀请", "owner_id": "mk2",
                                                "due_date": "2099-06-01"})
        assert m["status"] == "open"
        with pytest.raises(ValidationError):
            p.marketing.add_milestone(c["id"], {"title": "", "owner_id": "mk2"})
        with pytest.raises(NotFound):
            p.marketing.complete_milestone(c["id"], 10**9)
    with rpc(MK2) as p:  # the milestone's owner may complete it, not other tasks
        done = p.marketing.complete_milestone(c["id"], m["id"])
        assert done["status"] == "done" and done["completed_by"] == "mk2"
        with pytest.raises(Forbidden):
            p.marketing.complete_milestone(c["id"], c["milestones"][0]["id"])
    with rpc(MK) as p:
        with pytest.raises(Conflict):
            p.marketing.complete_milestone(c["id"], m["id"])
        after = p.marketing.complete_milestone(c["id"], c["milestones"][0]["id"])
        assert after["status"] == "done"
        assert p.marketing.get_campaign(c["id"])["milestones_overdue"] == 0


# --- audience --------------------------------------------------------------------
def test_audience_paged_through_customers_and_snapshotted(rpc):
    t, other = tag(), tag()
    rows = []
    for i in range(130):
        d = {"name": f"审计批量客户{t}{i}", "uscc": None, "industry_code": "C35",
             "region": "上海" if i < 120 else "北京", "type": "closed" if i % 2 else "potential",
             "tags": f"{t};{other}" if i % 3 == 0 else t, "contact_name": "李雷",
             "contact_title": "经理", "contact_mobile": f"136{i:08d}", "owner_id": "s1"}
        rows.append(d)
    for r in rows:
        r["uscc"] = data.uscc()
    with rpc(MGR) as p:
        res = p.customers.import_customers(rows)
        assert res["created"] == 130, res["errors"][:3]
        c = running_campaign(p, audience={"tags_all": [t], "region": "上海"})
        assert c["audience_size"] == 120  # two pages of list_customers
        page2 = p.marketing.get_audience(c["id"], page=2, page_size=100)
        assert page2["total"] == 120 and len(page2["items"]) == 20
        assert set(page2["items"][0]) == {"customer_id", "name", "type", "tier", "region",
                                          "industry_code", "tags"}
        narrow = running_campaign(p, audience={"tags_all": [t, other], "type": "closed",
                                               "region": "上海"})
        # i % 3 == 0 and odd, i < 120 → i ≡ 3 (mod 6): 20 customers
        assert narrow["audience_size"] == 20
        anyof = running_campaign(p, audience={"tags_any": [other, tag()], "region": "北京"})
        assert anyof["audience_size"] == len([i for i in range(120, 130) if i % 3 == 0])
        # the snapshot does not move when customers change later
        first = p.marketing.get_audience(c["id"], page_size=1)["items"][0]["customer_id"]
        p.customers.remove_tags(first, [t])
        assert p.marketing.get_audience(c["id"])["total"] == 120


def test_audience_filter_validated(rpc):
    with rpc(MK) as p, pytest.raises(ValidationError) as exc:
        p.marketing.create_campaign(plan(audience={"tier": "gold", "industry_code": "Z99",
                                                   "owner_id": "u1"}))
    assert set(exc.value.fields["audience"]) == {"tier", "industry_code", "owner_id"}


# --- validation writes nothing ---------------------------------------------------
def test_validation_field_by_field_nothing_written(rpc):
    with rpc(MGR) as p:
        before = p.marketing.list_campaigns({}, page_size=1)["total"]
        with pytest.raises(ValidationError) as exc:
            p.marketing.create_campaign(plan(format="webinar", budget="-1", colour="red",
                                             ends_at="2026-11-30T09:00:00+08:00",
                                             milestones=[{"title": "x"}]))
        assert {"format", "budget", "colour", "milestones"} <= set(exc.value.fields)
        with pytest.raises(ValidationError) as exc:
            p.marketing.create_campaign(plan(ends_at="2026-11-30T09:00:00+08:00"))
        assert "ends_at" in exc.value.fields
        with pytest.raises(ValidationError) as exc:
            p.marketing.create_campaign(plan(starts_at="2026-12-01T09:00:00"))
        assert "starts_at" in exc.value.fields  # naive time refused
        with pytest.raises(ValidationError) as exc:
            p.marketing.create_campaign(plan(goal=f"联系人身份证 {RID}"))
        assert exc.value.code == "SENSITIVE_DATA" and "goal" in exc.value.fields
        with pytest.raises(ValidationError) as exc:
            p.marketing.create_campaign({"theme": "x"})
        assert {"starts_at", "ends_at", "format"} <= set(exc.value.fields)
        with pytest.raises(ValidationError):
            p.marketing.create_campaign("not a dict")
        with pytest.raises(ValidationError):
            p.marketing.list_campaigns({"state": "paused"})
        with pytest.raises(ValidationError):
            p.marketing.list_campaigns({}, page_size=101)
        assert p.marketing.list_campaigns({}, page_size=1)["total"] == before


def test_participant_and_feedback_validation_nothing_written(rpc):
    with rpc(MK) as p:
        c = running_campaign(p, audience={"tags_all": [tag()]})
        cases = [
            ({"customer_id": 1, "contact": contact()}, "customer_id"),
            ({}, "customer_id"),
            ({"contact": {"name": "无联系方式", "company": "某公司"}}, "contact"),
            ({"contact": contact(mobile="12345")}, "contact"),
            ({"contact": contact(note="x")}, "contact"),
            ({"contact": contact(name=f"张三{RID}")}, "contact.name"),
            ({"customer_id": 10**9}, "customer_id"),
            ({"contact": contact(), "segment": "has space"}, "segment"),
        ]
        for bad, field in cases:
            with pytest.raises(ValidationError) as exc:
                p.marketing.register_participant(c["id"], bad)
            assert field in exc.value.fields, (bad, exc.value.fields)
        assert p.marketing.list_participants(c["id"])["total"] == 0
        part = p.marketing.register_participant(c["id"], {"contact": contact()})
        for score in (0, 6, "5", None):
            with pytest.raises(ValidationError):
                p.marketing.record_feedback(c["id"], part["id"], score, "ok")
        card = bank_card(random.Random(16), 19)  # ISO/IEC 7812 Luhn, from the reference
        assert luhn_valid(card)
        with pytest.raises(ValidationError) as exc:
            p.marketing.record_feedback(c["id"], part["id"], 4, f"卡号 {grouped(card)}")
        assert exc.value.code == "SENSITIVE_DATA" and "comment" in exc.value.fields, \
            (exc.value.code, exc.value.fields)
        assert p.marketing.get_participant(c["id"], part["id"])["feedback"] == []
        ev = p.marketing.evaluate_campaign(c["id"])
        assert ev["feedback_count"] == 0 and ev["participants"] == 1


# --- access ----------------------------------------------------------------------
def test_access_rules(rpc):
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan())
        with pytest.raises(ValidationError):
            p.marketing.create_campaign(plan(owner_id="mk2"))
        with pytest.raises(Forbidden):
            p.marketing.create_campaign(plan(), at="2026-01-01T00:00:00+08:00")
    with rpc(MK2) as p:  # marketing staff see department campaigns, cannot change them
        assert p.marketing.get_campaign(c["id"])["id"] == c["id"]
        assert c["id"] in [x["id"] for x in p.marketing.list_campaigns({}, page_size=100)["items"]]
        for call in (lambda: p.marketing.update_campaign(c["id"], {"theme": "偷改"}),
                     lambda: p.marketing.schedule_campaign(c["id"]),
                     lambda: p.marketing.cancel_campaign(c["id"], "no")):
            with pytest.raises(Forbidden):
                call()
    with rpc(SALES) as p:  # other departments: not found, not listed, cannot create
        with pytest.raises(NotFound):
            p.marketing.get_campaign(c["id"])
        with pytest.raises(NotFound):
            p.marketing.evaluate_campaign(c["id"])
        with pytest.raises(NotFound):
            p.marketing.schedule_campaign(c["id"])
        assert c["id"] not in [x["id"] for x in
                               p.marketing.list_campaigns({}, page_size=100)["items"]]
        with pytest.raises(Forbidden):
            p.marketing.create_campaign(plan())
        with pytest.raises(NotFound):
            p.marketing.get_campaign("1; drop table")
    with rpc(MGR) as p:  # managers change anything and hand campaigns over
        up = p.marketing.update_campaign(c["id"], {"owner_id": "mk2"})
        assert up["owner_id"] == "mk2"
    with rpc(MK2) as p:
        assert p.marketing.schedule_campaign(c["id"])["state"] == "scheduled"
    with rpc(ADMIN) as p:  # historical import keeps its dates
        old = p.marketing.create_campaign(plan(owner_id="mk1"), at="2025-03-01T10:00:00+08:00")
        assert old["created_at"].startswith("2025-03-01T02:00:00")


# --- participants, check-in, feedback, leads -------------------------------------
def test_participants_checkin_feedback_and_masking(rpc, event_tap):
    tap = event_tap("marketing", "participant_registered", "campaign_feedback_recorded")
    with rpc(SALES) as p:  # a customer owned by sales: marketing registers it all the same
        cust = p.customers.create_customer(data.customer())
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(format="online"))
        with pytest.raises(Conflict):  # not open for registration in draft
            p.marketing.register_participant(c["id"], {"contact": contact()})
        p.marketing.schedule_campaign(c["id"])
        a = p.marketing.register_participant(c["id"], {"customer_id": cust["id"]})
        assert a["kind"] == "customer" and a["company"] == cust["name"]
        assert a["segment"] == cust["tier"] and a["contact_name"] == "王芳"
        mobile = contact()["mobile"]
        b = p.marketing.register_participant(
            c["id"], {"contact": contact(mobile=mobile), "segment": "vip", "need": "产线升级"})
        assert b["mobile"] == mobile and b["segment"] == "vip"
        with pytest.raises(Conflict):
            p.marketing.register_participant(c["id"], {"customer_id": cust["id"]})
        with pytest.raises(Conflict):
            p.marketing.register_participant(c["id"], {"contact": contact(mobile=mobile)})
        with pytest.raises(Conflict):  # check-in only while running
            p.marketing.check_in(c["id"], b["id"])
        p.marketing.launch_campaign(c["id"])
        assert p.marketing.check_in(c["id"], b["id"])["attended"] is True
        with pytest.raises(Conflict):
            p.marketing.check_in(c["id"], b["id"])
        with pytest.raises(NotFound):
            p.marketing.check_in(c["id"], 10**9)
        fb = p.marketing.record_feedback(c["id"], b["id"], 5, "讲解清楚")
        assert [f["score"] for f in fb["feedback"]] == [5]
        p.marketing.record_feedback(c["id"], b["id"], 3)
        ev = p.marketing.evaluate_campaign(c["id"])
        assert (ev["participants"], ev["attended"], ev["attendance_rate"]) == (2, 1, 0.5)
        assert ev["feedback_count"] == 2 and ev["feedback_average"] == 4.0
    with rpc(MK2) as p:  # not the owner: contact data masked
        seen = p.marketing.get_participant(c["id"], b["id"])
        assert seen["mobile"] == f"{mobile[:3]}****{mobile[-4:]}"
        assert seen["email"] == "z***@example.cn"
        lst = p.marketing.list_participants(c["id"])
        assert lst["total"] == 2 and mobile not in json.dumps(lst)
        with pytest.raises(Forbidden):
            p.marketing.record_feedback(c["id"], b["id"], 4)
    with rpc() as p:  # trusted system call (sales asking for the phone number)
        assert p.marketing.get_participant(c["id"], b["id"])["mobile"] == mobile
    tap.wait_for(2, "participant_registered")
    tap.wait_for(2, "campaign_feedback_recorded")
    mine = [e for e in tap.settle(0.3) if e["data"]["campaign_id"] == c["id"]]
    assert len(mine) == 4
    for e in mine:
        assert validate_event(e) == {}
        assert mobile not in json.dumps(e) and "zhao@example.cn" not in json.dumps(e)


def test_generate_lead_exactly_once(rpc, event_tap):
    tap = event_tap("marketing", "campaign_lead_generated")
    with rpc(MK) as p:
        c = running_campaign(p, format="online", audience={"tags_all": [tag()]})
        mobile = contact()["mobile"]
        part = p.marketing.register_participant(c["id"], {"contact": contact(mobile=mobile)})
        out = p.marketing.generate_lead(c["id"], part["id"], "需要三条产线的报价")
        assert out["lead_generated"] is True and out["need"] == "需要三条产线的报价"
        with pytest.raises(Conflict) as exc:
            p.marketing.generate_lead(c["id"], part["id"])
        assert exc.value.code == "LEAD_ALREADY_GENERATED"
        with pytest.raises(NotFound):
            p.marketing.generate_lead(c["id"], 10**9)
        assert p.marketing.evaluate_campaign(c["id"])["leads_generated"] == 1
    events = tap.wait_for(1, "campaign_lead_generated")
    mine = [e for e in tap.settle(0.7) if e["data"]["campaign_id"] == c["id"]]
    assert len(mine) == 1
    data = mine[0]["data"]
    assert validate_event(mine[0]) == {}
    assert data["participant_id"] == part["id"] and data["company_name"] == "杭州某电子有限公司"
    assert data["contact_name"] == "赵敏" and data["owner_id"] == "mk1"
    assert mobile not in json.dumps(events) and "zhao@example.cn" not in json.dumps(events)


def test_lead_not_before_running(rpc):
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(format="online"))
        p.marketing.schedule_campaign(c["id"])
        part = p.marketing.register_participant(c["id"], {"contact": contact()})
        with pytest.raises(Conflict):
            p.marketing.generate_lead(c["id"], part["id"])
        assert p.marketing.get_participant(c["id"], part["id"])["lead_generated"] is False


# --- outreach --------------------------------------------------------------------
def test_outreach_rendered_per_segment_recorded_and_sent_once(rpc, config):
    with rpc(MGR) as p:
        cust = p.customers.create_customer(data.customer(influence=5))
    with rpc(MK) as p:
        c = p.marketing.create_campaign(plan(format="online", theme="春季促销"))
        p.marketing.add_template(c["id"], {
            "channel": "sms", "body": "$name 您好，$theme 期间凭券码 $coupon_code 享 $offer",
            "offer": "九折"})
        p.marketing.add_template(c["id"], {
            "segment": "vip", "channel": "sms", "offer": "八折",
            "body": "尊敬的 $name（$company），专属 $offer 券：$coupon_code"})
        p.marketing.add_template(c["id"], {"segment": "vip", "channel": "email",
                                           "subject": "$theme 邀请", "body": "$name 您好"})
        with pytest.raises(Conflict):
            p.marketing.add_template(c["id"], {"channel": "sms", "body": "dup"})
        with pytest.raises(ValidationError) as exc:
            p.marketing.add_template(c["id"], {"channel": "sms", "segment": "x",
                                               "body": "hi $mobile"})
        assert "body" in exc.value.fields
        with pytest.raises(ValidationError):
            p.marketing.add_template(c["id"], {"channel": "fax", "body": "hi"})
        assert len(p.marketing.list_templates(c["id"])) == 3
        p.marketing.schedule_campaign(c["id"])
        vip_mobile = contact()["mobile"]
        vip = p.marketing.register_participant(
            c["id"], {"contact": contact(mobile=vip_mobile, name="钱总"), "segment": "vip"})
        plain = p.marketing.register_participant(
            c["id"], {"contact": contact(email=None, name="孙工")})
        known = p.marketing.register_participant(c["id"], {"customer_id": cust["id"]})
        res = p.marketing.send_outreach(c["id"], "sms")
        assert res["sent"] == 3 and res["skipped"] == []
        by_pid = {m["participant_id"]: m for m in res["messages"]}
        assert by_pid[vip["id"]]["body"].startswith(
            "尊敬的 钱总（杭州某电子有限公司），专属 八折 券：C")
        assert by_pid[plain["id"]]["body"].startswith("孙工 您好，春季促销 期间凭券码 C")
        assert "九折" in by_pid[plain["id"]]["body"]
        assert by_pid[known["id"]]["body"].startswith("王芳 您好")
        assert by_pid[vip["id"]]["recipient"] == f"{vip_mobile[:3]}****{vip_mobile[-4:]}"
        again = p.marketing.send_outreach(c["id"], "sms")
        assert again["sent"] == 0 and len(again["skipped"]) == 3
        mail = p.marketing.send_outreach(c["id"], "email")
        assert mail["sent"] == 1 and mail["messages"][0]["subject"] == "春季促销 邀请"
        reasons = {s["participant_id"]: s["reason"] for s in mail["skipped"]}
        assert set(reasons) == {plain["id"], known["id"]}
        with pytest.raises(ValidationError):
            p.marketing.send_outreach(c["id"], "sms", [10**9])
        log = p.marketing.list_outreach(c["id"], page_size=100)
        assert log["total"] == 4 and vip_mobile not in json.dumps(log)
    with rpc(MK2) as p, pytest.raises(Forbidden):
        p.marketing.send_outreach(c["id"], "sms")
    lines = [json.loads(x) for x in (var_dir(config) / "marketing" / "outreach-outbox.jsonl")
             .read_text(encoding="utf-8").splitlines()]
    mine = [x for x in lines if x["campaign_id"] == c["id"]]
    assert len(mine) == 4
    assert {x["recipient"] for x in mine if x["channel"] == "sms"} >= {vip_mobile}


def test_demo_campaigns_in_every_state(rpc):
    from services.marketing.demo import demo_campaigns
    with rpc() as p:
        ids = customers(p, 3, tags=["老客户"])
        made = demo_campaigns(p, ids, seed=7)
        for state, cid in made.items():
            assert p.marketing.get_campaign(cid)["state"] == state
        ev = p.marketing.evaluate_campaign(made["completed"])
        assert ev["participants"] == 6 and ev["leads_generated"] == 3
        assert p.marketing.list_outreach(made["running"])["total"] == 6
