"""Batched apply (many events per transaction) and the group commit of in-flight
events: same read models as one event per transaction, whatever the batch cut;
redeliveries counted; a failing event fails alone."""
import random

import eventlet
import pytest

from services.reporting import commands
from services.reporting import repository as repo
from services.reporting.batching import GroupCommit
from tests.unit.reporting.harness import Harness, customer, lead, order, ticket
from tests.unit.reporting.test_kpis import snapshot, story

HANDLER = "reporting.apply_event"


def apply_in_batches(h, events, sizes, handler=HANDLER):
    out, i = [], 0
    while i < len(events):
        n = sizes[len(out) % len(sizes)]
        with h.Session() as s:
            out += commands.apply_batch(s, events[i:i + n], h.tz, handler=handler)
            s.commit()
        i += n
    return out


def test_one_batch_equals_one_event_per_transaction():
    events = story()
    single = Harness()
    single.apply(*events)
    expected = snapshot(single)
    h = Harness()
    results = apply_in_batches(h, events, [len(events)])
    assert all(isinstance(r, float) for r in results)
    assert snapshot(h) == expected


@pytest.mark.parametrize("seed", range(3))
def test_shuffled_batches_of_any_size_give_identical_kpis(seed):
    events = story()
    base = Harness()
    base.apply(*events)
    expected = snapshot(base)
    rng = random.Random(seed)
    shuffled = list(events)
    rng.shuffle(shuffled)
    redelivered = rng.sample(shuffled, 6)
    h = Harness()
    apply_in_batches(h, shuffled + redelivered, [rng.randint(1, 9) for _ in range(20)])
    assert snapshot(h) == expected
    h.rebuild()
    assert snapshot(h) == expected


def test_inbox_marks_repeats_also_within_one_batch():
    h = Harness()
    a = order("order_placed", "2026-11-01T00:00", 1, "10.00")
    b = order("order_changed", "2026-11-02T00:00", 1, "12.00")
    first = apply_in_batches(h, [a, b, a], [3])
    assert isinstance(first[0], float) and isinstance(first[1], float)
    assert first[2] == commands.DUPLICATE
    assert apply_in_batches(h, [b], [1]) == [commands.DUPLICATE]
    assert h.kpis("2026-11")["sales_amount"] == "12.00"


def test_event_already_in_the_log_is_not_applied_twice():
    h = Harness()
    e = order("order_placed", "2026-11-01T00:00", 1, "10.00")
    h.apply(e)  # in the event log, not in this handler's inbox
    assert apply_in_batches(h, [e], [1]) == [None]
    assert h.kpis("2026-11")["sales_amount"] == "10.00"


# --- department rows -------------------------------------------------------------------
def test_department_rows_follow_an_employee_who_changes_department():
    events = [
        customer("customer_created", "2026-11-01T00:00", 1, owner="u9"),  # no staff row yet
        ticket("ticket_opened", "2026-11-02T00:00", 2, assignee="u9"),  # service
        order("order_placed", "2026-11-03T00:00", 3, "40.00", owner="u9"),  # now sales
        lead("lead_created", "2026-11-04T00:00", 4, owner="u8"),
    ]
    h = Harness()
    h.apply(*events[:2])
    assert h.kpis("2026-11", {"department": "service"})["customers_new"] == 1
    h.apply(*events[2:])
    sales = h.kpis("2026-11", {"department": "sales"})
    assert (sales["customers_new"], sales["tickets_new"], sales["leads_new"]) == (1, 1, 1)
    assert sales["sales_amount"] == "40.00"
    assert h.kpis("2026-11", {"department": "service"})["tickets_new"] == 0
    h.run(commands.set_staff_department, "u9", "marketing")
    assert h.kpis("2026-11", {"department": "marketing"})["sales_amount"] == "40.00"
    assert h.kpis("2026-11", {"department": "sales"})["sales_amount"] == "0.00"
    before = {d: h.kpis("2026-11", {"department": d})
              for d in ("sales", "service", "marketing")}
    h.rebuild()
    assert before == {d: h.kpis("2026-11", {"department": d})
                      for d in ("sales", "service", "marketing")}
    staff = {s["employee_id"]: s["department"] for s in h.run(repo.staff)}
    assert staff == {"u8": "sales", "u9": "marketing"}


# --- group commit ------------------------------------------------------------------------
def test_group_commit_batches_waiting_workers_and_fails_only_the_bad_event():
    batches = []

    def apply_many(envelopes):
        batches.append(list(envelopes))
        eventlet.sleep(0.01)  # a commit: other workers queue meanwhile
        if "bad" in envelopes:
            raise RuntimeError("cannot apply")
        return [f"ok:{e}" for e in envelopes]

    group = GroupCommit()
    results = {}

    def worker(name):
        try:
            results[name] = group.submit(name, apply_many)
        except RuntimeError as exc:
            results[name] = exc

    pool = eventlet.GreenPool()
    for name in ["a", "b", "c", "bad", "d", "e"]:
        pool.spawn(worker, name)
    pool.waitall()
    assert isinstance(results.pop("bad"), RuntimeError)
    assert results == {n: f"ok:{n}" for n in "abcde"}
    assert max(len(b) for b in batches) > 1  # several events in one transaction
    assert group.fallbacks == 1  # the failing batch was re-applied one by one
    assert [b for b in batches if b == ["bad"]]


def test_group_commit_of_one_worker_is_a_batch_of_one():
    group = GroupCommit()
    assert group.submit("x", lambda envs: [len(envs)]) == 1
    assert (group.batches, group.events) == (1, 1)
