"""Real writes land in the audit trail (issue 21): every audited record type an RPC
writes — customers: customer, contact, tag, attachment; sales: lead, opportunity,
order, payment; service_desk: ticket, survey; marketing: campaign, participant — is
created (and changed, where an RPC changes it) through the running service by a staff
user; a manager's ``audit_trail`` then names that user and shows the field before and
after, contact values masked (no name, mobile or e-mail in clear anywhere in the
record's trail), and ``verify_audit`` of the record is valid. The services run
in-process on the real broker and the session's databases (SQLite, or PostgreSQL with
CRM_TEST_DB=postgres). test_audit_tamper.py covers tampering with what is written."""
import base64
import json
import uuid
from decimal import Decimal, InvalidOperation

import pytest
from sqlalchemy import create_engine, select

from services.common.db import with_driver
from services.customers.models import CustomerTag
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
MANAGER = actor("aw-mgr", "manager", "management")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def uid(kind):
    return f"aw-{kind}-{uuid.uuid4().hex[:8]}"


def mobile(prefix="139"):
    return f"{prefix}{uuid.uuid4().int % 10**8:08d}"


def masked(number):
    """A mobile as the trail keeps it: ``139****5678 #<keyed digest>``."""
    want = f"{number[:3]}****{number[-4:]} #"
    return lambda got: isinstance(got, str) and got.startswith(want)


def _same(got, want):
    if callable(want):
        return want(got)
    if got == want:
        return True
    try:  # money: "2001.00" whichever way the column hands it over
        return got is not None and Decimal(str(got)) == Decimal(str(want))
    except (InvalidOperation, ValueError):
        return False


def _fits(entry, user, action, fields):
    if (entry["action"], entry["actor"]) != (action, user):
        return False
    before, after = entry["before"] or {}, entry["after"] or {}
    if action == "created":
        return all(_same(after.get(f), w) for f, w in fields.items())
    if action == "deleted":
        return all(_same(before.get(f), w) for f, w in fields.items())
    return all(f in after and _same(before.get(f), b) and _same(after.get(f), a)
               for f, (b, a) in fields.items())


def audited(proxy, record_type, record_id, user, *expected, clear=()):
    """``proxy``: a manager's proxy of the service. Each ``(action, {field: want})`` of
    ``expected`` is an entry by ``user`` (created: the value after; deleted: before;
    updated: ``(before, after)``); none of ``clear`` in the trail; the record verifies."""
    trail = proxy.audit_trail(record_type, record_id)
    for action, fields in expected:
        assert any(_fits(e, user, action, fields) for e in trail), (
            record_type, record_id, user, action, fields, trail)
    text = json.dumps(trail, ensure_ascii=False)
    assert not [v for v in clear if v in text], (record_type, record_id, trail)
    got = proxy.verify_audit(record_type, record_id)
    assert got["valid"] and got["entries"] >= len(trail), got
    return trail


def test_customers_writes_audited(config, start_service, rpc):
    start_service(CustomersService)
    me, m2 = uid("c"), mobile("137")
    new_contact = {"name": "李雷", "title": "总工", "mobile": m2,
                   "email": "li.lei@example.cn", "is_primary": True}
    with rpc(actor(me)) as p:
        c = p.customers.create_customer(data.customer())
        old = c["contacts"][0]  # the owner's answer: in clear
        m1 = old["mobile"]
        p.customers.update_customer(c["id"], {"needs": "节能改造"})
        new = p.customers.update_customer(c["id"], {"contacts": [new_contact]})["contacts"][0]
        p.customers.add_tags(c["id"], ["审计复购"])
        engine = create_engine(with_driver(config["DB_URIS"]["customers"]))
        with engine.connect() as conn:  # the tag row's id: no RPC answers it
            tag_id = conn.execute(select(CustomerTag.id).where(
                CustomerTag.customer_id == c["id"], CustomerTag.tag == "审计复购")).scalar()
        engine.dispose()
        p.customers.remove_tags(c["id"], ["审计复购"])
        att = p.customers.add_attachment(c["id"], "合同扫描.pdf", base64.b64encode(PDF).decode())
    clear = (m1, m2, old["email"], "li.lei@example.cn", old["name"], "李雷")
    with rpc(MANAGER) as m:
        trail = audited(m.customers, "customer", c["id"], me,
                        ("created", {"uscc": c["uscc"]}),
                        ("updated", {"needs": (None, "节能改造")}), clear=clear)
        assert masked(m1)(trail[0]["after"]["contacts"][0]["mobile"])  # created set-based
        # the contact replaced by update_customer: the old one deleted, the new one created
        audited(m.customers, "contact", old["id"], me,
                ("deleted", {"mobile": masked(m1), "title": old["title"]}), clear=clear)
        audited(m.customers, "contact", new["id"], me,
                ("created", {"mobile": masked(m2), "title": "总工"}), clear=clear)
        audited(m.customers, "tag", tag_id, me, ("created", {"tag": "审计复购"}),
                ("deleted", {"tag": "审计复购"}))
        audited(m.customers, "attachment", att["id"], me,
                ("created", {"filename": "合同扫描.pdf", "uploaded_by": me,
                             "sha256": att["sha256"]}))


def test_sales_writes_audited(config, start_service, rpc):
    from services.sales.service import SalesService
    start_service(CustomersService)
    start_service(SalesService)
    me, m1 = uid("s"), mobile("138")
    with rpc(actor(me)) as p:
        customer = p.customers.create_customer(data.customer())
        lead = p.sales.create_lead({"source": "website", "customer_name": f"审计线索{me}",
                                    "contact_name": "韩梅梅", "contact_mobile": m1,
                                    "contact_email": "han.mm@example.cn"})
        p.sales.disqualify_lead(lead["id"], "预算不足")
        opp = p.sales.create_opportunity({"customer_id": customer["id"], "amount": "100000.00",
                                          "expected_close_date": "2027-06-30"})
        p.sales.move_stage(opp["id"], "propose")
        order = p.sales.create_order({"customer_id": customer["id"], "lines": [
            {"product": "设备A", "quantity": "2", "unit_price": "1000.50"}],
            "delivery_date": "2027-01-15"})
        p.sales.change_order(order["id"], {"delivery_date": "2027-02-01"})
        payment = p.sales.record_payment(order["id"], "1000.00")["payments"][0]
    with rpc(MANAGER) as m:
        audited(m.sales, "lead", lead["id"], me,
                ("created", {"status": lead["status"], "contact_mobile": masked(m1)}),
                ("updated", {"status": (lead["status"], "disqualified")}),
                clear=(m1, "han.mm@example.cn", "韩梅梅"))
        audited(m.sales, "opportunity", opp["id"], me,
                ("created", {"stage": "qualify", "amount": "100000.00"}),
                ("updated", {"stage": ("qualify", "propose")}))
        audited(m.sales, "order", order["id"], me,
                ("created", {"amount": "2001.00", "status": "placed"}),
                ("updated", {"delivery_date": ("2027-01-15", "2027-02-01")}),
                ("updated", {"paid_total": ("0", "1000.00")}))
        audited(m.sales, "payment", payment["id"], me,
                ("created", {"amount": "1000.00", "order_id": order["id"]}))


def test_service_desk_writes_audited(config, start_service, rpc):
    from services.service_desk.service import ServiceDeskService
    start_service(CustomersService)
    start_service(ServiceDeskService)
    me, m1 = actor(uid("d"), "staff", "service"), mobile("139")
    with rpc(actor(uid("c"))) as p:
        c = p.customers.create_customer(data.customer())
    with rpc(me) as p:
        t = p.service_desk.open_ticket({
            "kind": "complaint", "severity": "low", "customer_id": c["id"],
            "complainant_name": "欧阳娜娜", "complainant_contact": m1, "channel": "phone",
            "subject": "审计写入", "description": "设备报警。"})
    # whoever the ticket went to handles it (the roster's agent, else the opener)
    handler = actor(t["assignee_id"] or me["id"], "staff", "service")
    with rpc(handler) as p:
        p.service_desk.resolve_ticket(t["id"], "更换主板后恢复正常", "product_defect")
        survey = p.service_desk.submit_survey(t["id"], 4, "处理及时")
    with rpc(MANAGER) as m:
        audited(m.service_desk, "ticket", t["id"], me["id"],
                ("created", {"status": "open", "complainant_contact": masked(m1)}),
                clear=(m1, "欧阳娜娜"))
        audited(m.service_desk, "ticket", t["id"], handler["id"],
                ("updated", {"status": (t["status"], "resolved"),
                             "root_cause": (None, "product_defect")}))
        audited(m.service_desk, "survey", survey["id"], handler["id"],
                ("created", {"score": 4, "ticket_id": t["id"], "comment": "处理及时"}))


def test_marketing_writes_audited(config, start_service, rpc):
    from services.marketing.service import MarketingService
    from tests.integration.test_marketing_support import contact, plan
    start_service(CustomersService)
    start_service(MarketingService)
    me, m1 = actor(uid("m"), "staff", "marketing"), mobile("137")
    with rpc(me) as p:
        camp = p.marketing.create_campaign(plan())
        p.marketing.update_campaign(camp["id"], {"goal": "获取华东制造业线索 40 条"})
        p.marketing.schedule_campaign(camp["id"])
        p.marketing.launch_campaign(camp["id"])
        part = p.marketing.register_participant(camp["id"], {"contact": contact(m1)})
        p.marketing.check_in(camp["id"], part["id"])
    with rpc(MANAGER) as m:
        audited(m.marketing, "campaign", camp["id"], me["id"],
                ("created", {"state": "draft", "owner_id": me["id"]}),
                ("updated", {"goal": ("获取华东制造业线索 30 条", "获取华东制造业线索 40 条")}),
                ("updated", {"state": ("draft", "scheduled")}))
        audited(m.marketing, "participant", part["id"], me["id"],
                ("created", {"kind": "contact", "mobile": masked(m1)}),
                ("updated", {"attended_at": (None, bool)}),
                clear=(m1, "zhao@example.cn", "赵敏"))
