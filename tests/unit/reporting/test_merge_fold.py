"""reporting and customers_merged: the merged customer counts once (as the kept one)
whatever the delivery order, a repeated or twin event changes nothing, and the
merged customer's orders and tickets are the kept customer's (also after rebuild)."""
import copy
import itertools
import uuid

from sqlalchemy import select

from services.reporting.models import CustomerFact, OrderFact, TicketFact
from tests.unit.reporting.harness import Harness, customer, env, order, ticket

MONTH = "2026-11"


def story():
    return [customer("customer_created", "2026-11-02T00:00", 101, owner="u1", ctype="closed"),
            customer("customer_created", "2026-11-03T00:00", 102, owner="u2",
                     ctype="closed", filled=6),
            order("order_placed", "2026-11-04T00:00", "o-102", amount="500.00", owner="u2",
                  customer_id=102),
            ticket("ticket_opened", "2026-11-04T01:00", "t-102", customer_id=102),
            env("customers_merged", "2026-11-05T00:00", keep_id=101, merge_id=102,
                keep_owner_id="u1", merge_owner_id="u2")]


def state(h):
    k = h.kpis(MONTH)
    facts = h.run(lambda s: {
        "orders": dict(s.execute(select(OrderFact.order_id, OrderFact.customer_id)).all()),
        "tickets": dict(s.execute(select(TicketFact.ticket_id, TicketFact.customer_id)).all()),
        "types": dict(s.execute(select(CustomerFact.customer_id, CustomerFact.type)).all()),
        "last_order": h.run(lambda s2: s2.get(CustomerFact, "101").last_order_at)})
    return {"customers_new": k["customers_new"], "completeness": k["customer_info_completeness"],
            "sales_amount": k["sales_amount"], **facts}


def test_counted_once_in_any_delivery_order():
    expected = None
    for perm in itertools.permutations(story()):
        h = Harness()
        h.apply(*copy.deepcopy(perm))
        got = state(h)
        if expected is None:
            expected = got
        assert got == expected, perm
    assert expected["customers_new"] == 1  # two records of one company, counted once
    assert expected["completeness"] == 1.0  # only the kept customer's 12 of 12 fields
    assert expected["sales_amount"] == "500.00"  # its order still counts, once
    assert expected["orders"] == {"o-102": "101"} and expected["tickets"] == {"t-102": "101"}
    assert expected["types"]["102"] == "merged" and expected["types"]["101"] == "closed"
    assert expected["last_order"] is not None  # churn signals are the kept customer's


def test_replayed_and_twin_events_change_nothing_and_rebuild_agrees():
    h = Harness()
    events = story()
    h.apply(*events)
    before = state(h)
    merged = events[-1]
    twin = dict(copy.deepcopy(merged), event_id=str(uuid.uuid4()))
    h.apply(copy.deepcopy(merged), twin)
    assert state(h) == before
    h.rebuild()
    assert state(h) == before


def test_a_later_order_of_the_merged_customer_is_booked_on_the_kept_one():
    h = Harness()
    h.apply(*story())
    h.apply(order("order_placed", "2026-11-06T00:00", "o-late", amount="1.00", owner="u2",
                  customer_id=102))
    assert state(h)["orders"]["o-late"] == "101"
