"""create_lead's fast path (record built before any I/O, one Core insert on the raw
cursor, hand-written dump): the same row, answer and ``lead_created`` payload as the
ORM path it replaced, and nothing written when the input or the database refuses."""
import datetime as dt
import uuid
from types import SimpleNamespace
from unittest import mock

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from services.common.actors import Actor
from services.common.errors import NotFound, ValidationError
from services.contract.events import validate_event
from services.sales import commands
from services.sales import repository as repo
from services.sales.models import Base, Lead
from services.sales.schemas import LeadOutSchema, dump_lead, wire_id
from tests.support.standards import RIC_SAMPLE
from tests.unit.sales.test_service import MANAGER, lead_in, staff

UTC = dt.timezone.utc
ADMIN = {"id": "root", "roles": ["admin"], "department": "it"}
COLUMNS = [c.key for c in Lead.__table__.c]


# --- the hand-written dump --------------------------------------------------------------
_BASE = {
    "id": 7, "source": "website", "status": "following_up", "customer_id": None,
    "customer_name": "上海测试机械有限公司", "contact_name": "李雷",
    "contact_mobile": "13900001111", "contact_email": "li@example.cn", "need": "设备",
    "region": "上海", "industry_code": "C35", "campaign_id": None, "participant_id": None,
    "owner_id": "u1", "assignment_rule": "manual",
    "assigned_at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    "disqualify_reason": None, "opportunity_id": None, "closed_at": None,
    "created_at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    "updated_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
}
_VARIANTS = [
    {},
    {"owner_id": None, "assignment_rule": None, "assigned_at": None, "status": "new",
     "contact_name": None, "contact_mobile": None, "contact_email": None, "need": None,
     "region": None, "industry_code": None},
    {"customer_id": 42, "campaign_id": "31", "participant_id": "p-9", "source": "campaign"},
    {"campaign_id": "c-9", "participant_id": "0012"},
    {"contact_mobile": "139****1111", "contact_email": "l***@example.cn"},
    {"status": "converted", "opportunity_id": 5, "closed_at": dt.datetime(2026, 3, 1, tzinfo=UTC)},
    {"status": "disqualified", "disqualify_reason": "无预算",
     "created_at": dt.datetime(2019, 12, 31, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))},
]


@pytest.mark.parametrize("over", _VARIANTS)
def test_dump_lead_is_lead_out_schema(over):
    record = dict(_BASE, **over)
    out = dump_lead(record)
    assert out == LeadOutSchema().dump(record)
    assert list(out) == list(LeadOutSchema().dump(record))  # same key order on the wire


# --- the row, the answer and the event against the ORM path ---------------------------------
def _orm_create_lead(uow, actor, data, when, customer=None):
    """The ORM implementation create_lead had before the fast path (the reference)."""
    data = dict(data)
    requested = data.pop("owner_id", None)
    owner = requested if actor.is_manager else commands.owner_for(actor, requested, "leads")
    if customer:
        for key, src in (("customer_name", "name"), ("region", "region"),
                         ("industry_code", "industry_code")):
            data[key] = data.get(key) or customer.get(src)
    lead = Lead(**data, owner_id=owner, status="following_up" if owner else "new",
                assignment_rule="manual" if owner else None,
                assigned_at=when if owner else None, created_at=when, updated_at=when)
    uow.session.add(lead)
    uow.session.flush()
    uow.emit("lead_created", repo.lead_event(lead), when)
    return lead


def _row(database, lead_id):
    with database.unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        return {c: getattr(lead, c) for c in COLUMNS}


def _events(database, lead_id):
    with database.unit_of_work() as uow:
        rows = uow.session.scalars(select(Base.Outbox).where(
            Base.Outbox.event_type == "lead_created")).all()
        return [r.envelope for r in rows if r.envelope["data"]["lead_id"] == lead_id]


_CUSTOMER = {"id": 9, "name": "客户九", "region": "深圳", "industry_code": "C3511"}
_CASES = [
    ("staff own lead", staff("s-fast"), {}, None),
    ("manager, waits for assignment", MANAGER, {}, None),
    ("manager names the owner", MANAGER, {"owner_id": "u7"}, None),
    ("staff names itself", staff("s-me"), {"owner_id": "s-me"}, None),
    ("existing customer", staff("s-c"),
     {"customer_id": 9, "customer_name": None, "region": None, "industry_code": None},
     _CUSTOMER),
    ("customer, own name kept", staff("s-c"), {"customer_id": 9, "region": "北京"}, _CUSTOMER),
    ("campaign lead", MANAGER, {"source": "campaign", "campaign_id": "31"}, None),
    ("bare prospect", staff("s-b"), None, None),
]


@pytest.mark.parametrize("case", _CASES, ids=[c[0] for c in _CASES])
def test_fast_path_writes_what_the_orm_wrote(database, case):
    _, who, over, customer = case
    actor = Actor(who)
    if over is None:
        data = {"source": "phone", "customer_name": f"公司{uuid.uuid4().hex[:6]}"}
    else:
        data = {k: v for k, v in lead_in(**over).items() if v is not None}
    when = dt.datetime.now(UTC).replace(microsecond=123456)
    with database.unit_of_work(actor.id, "sales.test") as uow:
        fast = commands.create_lead(uow, actor, dict(data), when, customer)
        uow.commit()
    with database.unit_of_work(actor.id, "sales.test") as uow:
        ref = _orm_create_lead(uow, actor, dict(data), when, customer)
        uow.commit()
    fast_row, ref_row = _row(database, fast.id), _row(database, ref.id)
    assert {**fast_row, "id": None} == {**ref_row, "id": None}
    # the answer: from what was written, and equal to the ORM's marshmallow dump
    fast_out = dump_lead(repo.lead_output(fast, actor))
    ref_out = LeadOutSchema().dump(repo.lead_output(ref, actor))
    assert {**fast_out, "id": None} == {**ref_out, "id": None}
    assert fast_out["id"] == fast.id
    # the event: one, in the same transaction, the contract's payload
    (f_env,), (r_env,) = _events(database, fast.id), _events(database, ref.id)
    assert validate_event(f_env) == {}
    assert {**f_env["data"], "lead_id": None} == {**r_env["data"], "lead_id": None}
    assert f_env["occurred_at"] == r_env["occurred_at"] == when.isoformat()
    assert f_env["actor_id"] == actor.id
    assert "13900001111" not in str(f_env) and "contact" not in str(f_env["data"])


def test_service_answer_equals_get_lead(svc, database):
    """What create_lead answers (never read back) is what get_lead reads back."""
    for who, data in ((staff("s-g"), lead_in()),
                      (MANAGER, lead_in(owner_id="u8", contact_email="li@example.cn")),
                      (MANAGER, lead_in(source="campaign", campaign_id=77)),
                      (staff("s-g"), lead_in(customer_id=5, customer_name=None))):
        worker = svc(who)
        data = {k: v for k, v in data.items() if v is not None}
        out = worker.create_lead(data)
        assert out == worker.get_lead(out["id"])
    # a manager's lead for someone else: contact data masked in the answer, as get_lead does
    out = svc(MANAGER).create_lead(lead_in(owner_id="u9"))
    assert out["contact_mobile"] != "13900001111"
    assert out == svc(MANAGER).get_lead(out["id"])
    assert svc(staff("u9")).get_lead(out["id"])["contact_mobile"] == "13900001111"


def test_at_is_the_creation_time_for_admins(svc, database):
    out = svc(ADMIN).create_lead(lead_in(owner_id="u1"), at="2026-03-04T05:06:07+08:00")
    assert out["created_at"] == out["updated_at"] == out["assigned_at"] \
        == "2026-03-03T21:06:07+00:00"
    (env,) = _events(database, out["id"])
    assert env["occurred_at"] == "2026-03-03T21:06:07+00:00"
    assert env["data"]["created_at"] == "2026-03-03T21:06:07+00:00"


# --- refusals write nothing --------------------------------------------------------------
def _counts(database):
    with database.unit_of_work() as uow:
        return (uow.session.scalar(select(func.count(Lead.id))),
                uow.session.scalar(select(func.count(Base.Outbox.id))))


_BAD = [
    ({"source": "fax"}, "source"),
    ({"customer_name": None}, "customer_name"),
    ({"customer_name": "x"}, "customer_name"),
    ({"source": "campaign"}, "campaign_id"),
    ({"contact_mobile": "12345"}, "contact_mobile"),
    ({"contact_email": "not-an-email"}, "contact_email"),
    ({"industry_code": "ZZ"}, "industry_code"),
    ({"customer_id": "7"}, "customer_id"),
    ({"surprise": 1}, "surprise"),
    ({"need": f"身份证 {RIC_SAMPLE}"}, "need"),
    ({"owner_id": "someone-else"}, "owner_id"),
]


@pytest.mark.parametrize("over,field", _BAD, ids=[b[1] for b in _BAD])
def test_invalid_input_writes_nothing(svc, database, over, field):
    before = _counts(database)
    data = {k: v for k, v in lead_in(**over).items() if v is not None}
    with pytest.raises(ValidationError) as exc:
        svc(staff("s-bad")).create_lead(data)
    assert field in exc.value.fields
    assert _counts(database) == before


def test_unknown_customer_writes_nothing(svc, database):
    customers = mock.Mock()
    customers.get_customer.side_effect = NotFound("customer 404 not found")
    before = _counts(database)
    with pytest.raises(ValidationError) as exc:
        svc(staff("s-x"), customers=customers).create_lead(lead_in(customer_id=404))
    assert "customer_id" in exc.value.fields
    assert _counts(database) == before


def test_database_refusal_rolls_back_the_unit(database):
    """A row the database refuses raises SQLAlchemy's IntegrityError, and the unit of
    work's earlier lead and both events are gone with it."""
    actor, when = Actor(staff("s-db")), dt.datetime.now(UTC)
    good = commands.new_lead_record(actor, lead_in(), when)
    bad = dict(good, customer_name=None)  # NOT NULL
    before = _counts(database)
    with pytest.raises(sa_exc.IntegrityError):
        with database.unit_of_work(actor.id, "sales.test") as uow:
            commands.insert_lead(uow, good, when)
            commands.insert_lead(uow, bad, when)
            uow.commit()
    assert _counts(database) == before


def test_record_is_built_before_any_io():
    actor, when = Actor(staff("s-r")), dt.datetime(2026, 1, 1, tzinfo=UTC)
    rec = commands.new_lead_record(actor, {"source": "website", "customer_name": "某公司"},
                                   when)
    assert set(rec) == set(COLUMNS) - {"id"}
    assert rec["owner_id"] == "s-r" and rec["status"] == "following_up"
    assert rec["assignment_rule"] == "manual" and rec["assigned_at"] == when
    assert rec["campaign_id"] is None and rec["participant_id"] is None
    with pytest.raises(TypeError):
        commands.new_lead_record(actor, {"source": "website", "nope": 1}, when)
    view = SimpleNamespace(**dict(rec, id=3, campaign_id="31"))
    assert repo.lead_event(view)["campaign_id"] == wire_id("31") == 31
