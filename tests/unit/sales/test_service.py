"""SalesService logic with worker_factory: a real SQLite database (migrated with
alembic), the actor and customers RPC mocked. No broker needed."""
import datetime as dt
import uuid
from unittest import mock

import pytest

from services.common.errors import Conflict, Forbidden, NotFound, ValidationError
from services.contract.events import validate_event
from services.sales.models import Base, Lead, Opportunity


def staff(name):
    return {"id": name, "roles": ["staff"], "department": "sales"}


MANAGER = {"id": "boss", "roles": ["manager"], "department": "sales"}


def outbox(database, event_type):
    with database.unit_of_work() as uow:
        rows = uow.session.query(Base.Outbox).filter_by(event_type=event_type).all()
        return [r.envelope for r in rows]


def count(database, model, **filters):
    with database.unit_of_work() as uow:
        return uow.session.query(model).filter_by(**filters).count()


def lead_in(**kw):
    data = {"source": "website", "customer_name": f"公司{uuid.uuid4().hex[:6]}",
            "contact_name": "张三", "contact_mobile": "13900001111", "industry_code": "C35",
            "region": "北京", "need": "设备"}
    data.update(kw)
    return data


def test_create_and_assign_lead_emit_valid_events(svc, database):
    me = f"s-{uuid.uuid4().hex[:6]}"
    lead = svc(staff(me)).create_lead(lead_in())
    assert lead["owner_id"] == me and lead["status"] == "following_up"
    env = [e for e in outbox(database, "lead_created") if e["data"]["lead_id"] == lead["id"]]
    assert len(env) == 1 and validate_event(env[0]) == {}
    assert "13900001111" not in str(env[0])
    m = svc(MANAGER)
    m.set_assignment_rules([{"kind": "round_robin", "team": ["r1", "r2"]}])
    fresh = m.create_lead(lead_in())
    assert fresh["owner_id"] is None and fresh["status"] == "new"
    first = m.assign_lead(fresh["id"])["owner_id"]
    second = m.assign_lead(m.create_lead(lead_in())["id"])["owner_id"]
    assert {first, second} == {"r1", "r2"}
    with pytest.raises(Forbidden):
        svc(staff(me)).assign_lead(lead["id"], "other")
    with pytest.raises(NotFound):
        svc(staff("someone")).get_lead(lead["id"])
    assigned = [e for e in outbox(database, "lead_assigned")
                if e["data"]["lead_id"] == fresh["id"]]
    assert len(assigned) == 1 and validate_event(assigned[0]) == {}


def test_convert_rejected_by_customers_writes_nothing(svc, database):
    me = f"s-{uuid.uuid4().hex[:6]}"
    customers = mock.Mock()
    customers.create_customer.side_effect = ValidationError(
        "Invalid input", {"uscc": ["bad"], "contacts": {"0": {"title": ["missing"]}}})
    worker = svc(staff(me), customers)
    lead = worker.create_lead(lead_in())
    before = count(database, Opportunity)
    with pytest.raises(ValidationError) as err:
        worker.convert_lead(lead["id"], {"amount": "10.00", "expected_close_date": "2026-12-01",
                                         "customer": {"uscc": "x"}})
    assert set(err.value.fields) == {"customer.uscc", "customer.contact.title"}
    sent = customers.create_customer.call_args[0][0]
    assert sent["name"] == lead["customer_name"] and sent["owner_id"] == me
    assert sent["contacts"][0]["mobile"] == "13900001111" and sent["uscc"] == "x"
    assert count(database, Opportunity) == before
    assert count(database, Lead, id=lead["id"], status="following_up") == 1
    assert not [e for e in outbox(database, "lead_converted")
                if e["data"]["lead_id"] == lead["id"]]


def test_convert_prospect_calls_customers_then_opens_opportunity(svc, database):
    me = f"s-{uuid.uuid4().hex[:6]}"
    customers = mock.Mock()
    customers.create_customer.return_value = {"id": 777, "name": "新客户"}
    worker = svc(staff(me), customers)
    lead = worker.create_lead(lead_in(source="campaign", campaign_id="c-9"))
    out = worker.convert_lead(lead["id"], {"amount": "10.00", "expected_close_date": "2026-12-01"})
    assert out["lead"]["status"] == "converted" and out["opportunity"]["customer_id"] == 777
    assert out["opportunity"]["campaign_id"] == "c-9"
    with pytest.raises(Conflict):
        worker.convert_lead(lead["id"], {"amount": "1", "expected_close_date": "2026-12-01"})
    assert customers.create_customer.call_count == 1


def test_stage_flow_and_time_in_stage(svc):
    admin = svc({"id": "adm", "roles": ["admin"]})
    t0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)

    def at(h):
        return (t0 + dt.timedelta(hours=h)).isoformat()
    opp = admin.create_opportunity({"customer_id": 5, "amount": "10.00",
                                    "expected_close_date": "2026-02-01"}, at=at(0))
    admin.move_stage(opp["id"], "propose", at=at(2))
    with pytest.raises(Conflict):
        admin.win_opportunity(opp["id"], at=at(3))
    admin.move_stage(opp["id"], "negotiate", at=at(5))
    won = admin.win_opportunity(opp["id"], at=at(6))
    assert won["time_in_stage"] == {"qualify": 7200, "propose": 10800, "negotiate": 3600}
    with pytest.raises(Conflict):
        admin.move_stage(opp["id"], "negotiate")


def test_orders_payments_and_status(svc, database):
    me = f"s-{uuid.uuid4().hex[:6]}"
    w = svc(staff(me))
    order = w.create_order({"customer_id": 9, "lines": [
        {"product": "a", "quantity": "3", "unit_price": "0.10"}]})
    assert order["amount"] == "0.30"
    assert w.record_payment(order["id"], "0.10")["status"] == "partially_paid"
    with pytest.raises(ValidationError):
        w.record_payment(order["id"], "0.21")
    assert w.record_payment(order["id"], "0.20")["status"] == "paid"
    assert w.ship_order(order["id"])["status"] == "completed"
    pays = [e for e in outbox(database, "payment_received") if e["data"]["order_id"] == order["id"]]
    assert [e["data"]["outstanding"] for e in pays] == ["0.20", "0.00"]
    assert all(validate_event(e) == {} for e in pays)


def test_campaign_event_is_idempotent(svc, database):
    m = svc(MANAGER)
    m.set_assignment_rules([{"kind": "named", "owner_id": "default-owner"}])
    env = {"event_id": str(uuid.uuid4()), "type": "campaign_lead_generated", "version": 1,
           "occurred_at": dt.datetime.now(dt.UTC).isoformat(), "source": "marketing",
           "actor_id": None, "data": {"campaign_id": 31, "participant_id": uuid.uuid4().hex,
                                      "company_name": "展会公司", "region": "杭州"}}
    worker = svc()
    worker.on_campaign_lead_generated(env)
    worker.on_campaign_lead_generated(env)
    worker.on_campaign_lead_generated(dict(env, event_id=str(uuid.uuid4())))
    leads = m.list_leads({"campaign_id": 31, "q": "展会"})
    mine = [x for x in leads["items"] if x["participant_id"] == env["data"]["participant_id"]]
    assert len(mine) == 1 and mine[0]["owner_id"] == "default-owner"


def test_forecast_scopes_staff(svc):
    a = f"fa-{uuid.uuid4().hex[:6]}"
    m = svc(MANAGER)
    m.create_opportunity({"customer_id": 1, "amount": "100.00", "owner_id": a,
                          "expected_close_date": "2033-03-31"})
    m.create_opportunity({"customer_id": 1, "amount": "100.00", "owner_id": "zz",
                          "expected_close_date": "2033-01-01"})
    assert m.forecast("2033-Q1")["weighted_amount"] == "60.00"
    assert svc(staff(a)).forecast("2033-Q1")["weighted_amount"] == "30.00"
    assert svc(staff(a)).forecast("2033-02")["count"] == 0


def test_demo_pipeline_runs_through_the_public_methods(svc, database):
    from types import SimpleNamespace

    from services.sales.demo import demo_pipeline
    worker = svc()
    made = demo_pipeline(SimpleNamespace(sales=worker), list(range(1000, 1015)),
                         ["d1", "d2", "d3"])
    assert made == {"leads": 14, "opportunities": 15, "orders": 4, "payments": 5}
    stages = {s: worker.list_opportunities({"stage": s, "owner_id": "d1"})["total"] +
              worker.list_opportunities({"stage": s, "owner_id": "d2"})["total"] +
              worker.list_opportunities({"stage": s, "owner_id": "d3"})["total"]
              for s in ("qualify", "propose", "negotiate", "won", "lost")}
    assert all(n >= 3 for n in stages.values()), stages
    assert worker.list_follow_ups({"overdue": True, "owner_id": "d1"})["total"] >= 1
