"""The workspace's read models: my_day, follow_up_counts, pipeline_totals."""
import datetime as dt
import uuid

import pytest

from services.common.errors import NotFound
from tests.unit.sales.test_service import MANAGER, lead_in


def staff(name):
    return {"id": name, "roles": ["staff"], "department": "sales"}


def test_my_day_lists_what_is_due_and_mine_only(svc):
    me, other = f"d-{uuid.uuid4().hex[:6]}", f"o-{uuid.uuid4().hex[:6]}"
    admin = svc({"id": "adm", "roles": ["admin"]})
    now = dt.datetime.now(dt.UTC)
    opp = admin.create_opportunity({"customer_id": 3, "amount": "100.00", "owner_id": me,
                                    "expected_close_date": "2020-01-01"},
                                   at=(now - dt.timedelta(days=3)).isoformat())
    admin.schedule_follow_up(opp["id"], (now - dt.timedelta(hours=1)).isoformat(), "call",
                             at=(now - dt.timedelta(days=2)).isoformat())
    admin.schedule_follow_up(opp["id"], (now + dt.timedelta(days=30)).isoformat(), "later")
    svc(MANAGER).create_lead(lead_in(owner_id=me))
    svc(MANAGER).create_lead(lead_in(owner_id=other))
    order = svc(staff(me)).create_order({"customer_id": 3, "lines": [
        {"product": "a", "quantity": "1", "unit_price": "5.00"}]})

    d = svc(staff(me)).my_day()
    assert d["counts"]["overdue"] == 1
    assert [f["note"] for f in d["follow_ups"]] == ["call"]
    assert d["follow_ups"][0]["overdue"] is True
    assert d["follow_ups"][0]["opportunity_name"] == opp["name"]
    assert len(d["new_leads"]) == 1 and d["new_leads"][0]["owner_id"] == me
    assert [o["id"] for o in d["past_close"]] == [opp["id"]]
    assert [o["id"] for o in d["orders"]] == [order["id"]]
    assert d["unassigned"] == {"items": [], "total": 0}
    assert svc(staff(me)).follow_up_counts()["overdue"] == 1
    assert svc(staff(other)).follow_up_counts() == {"overdue": 0, "due_today": 0}


def test_pipeline_totals_per_stage_and_scope(svc):
    a = f"p-{uuid.uuid4().hex[:6]}"
    m = svc(MANAGER)
    for amount in ("100.00", "0.05"):
        m.create_opportunity({"customer_id": 1, "amount": amount, "owner_id": a,
                              "expected_close_date": "2030-01-01"})
    t = svc(staff(a)).pipeline_totals()
    # 100.05 × 0.3 = 30.015 → 30.02 (half-up, once per column)
    assert t["qualify"] == {"count": 2, "amount": "100.05", "weighted_amount": "30.02"}
    assert t["won"]["count"] == 0
    assert m.pipeline_totals(owner_id=a) == t
    assert svc(staff("nobody")).pipeline_totals(owner_id=a)["qualify"]["count"] == 0


def test_pipeline_board_and_opportunity_view_in_one_call(svc):
    a = f"b-{uuid.uuid4().hex[:6]}"
    m = svc(MANAGER)
    ids = [m.create_opportunity({"customer_id": 1, "amount": "10.00", "owner_id": a,
                                 "expected_close_date": "2030-01-01"})["id"] for _ in range(3)]
    board = svc(staff(a)).pipeline_board(None, {"qualify": 2}, 2)
    qualify = board["columns"][0]
    assert [c["stage"] for c in board["columns"]] == ["qualify", "propose", "negotiate",
                                                      "won", "lost"]
    assert (qualify["total"], qualify["page"], [o["id"] for o in qualify["items"]]) == (
        3, 2, [ids[2]])
    assert qualify["totals"] == {"count": 3, "amount": "30.00", "weighted_amount": "9.00"}
    assert board["counts"] == {"overdue": 0, "due_today": 0}
    assert svc(staff("else")).pipeline_board(a)["columns"][0]["total"] == 0
    assert m.pipeline_board(a)["columns"][0]["total"] == 3
    view = svc(staff(a)).opportunity_view(ids[0])
    assert view["opportunity"]["id"] == ids[0]
    assert view["follow_ups"] == [] and view["orders"] == [] and view["activities"] == []
    with pytest.raises(NotFound):
        svc(staff("else")).opportunity_view(ids[0])
