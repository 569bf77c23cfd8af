"""Issue 16 item 7 (a)-(c) across RPC: customers → service_desk's copy → care tasks.

Two contacts called 张伟 get two birthday greetings, and customers rewriting the contacts
(new contact ids) makes none again; New Year 2022 and New Year 2023 (greeted on
2022-12-31, the first official day off) are two tasks; festivals after 2026 (no official
arrangement in chinesecalendar) are still greeted, on their own date (春节 2027-02-06 from
published lunar new year tables).
"""
import uuid

import pytest
from nameko.containers import ServiceContainer
from nameko.exceptions import MethodNotFound

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration

AGENT = f"care-{uuid.uuid4().hex[:6]}"
STAFF = actor(AGENT, "staff", "service")
MANAGER = actor("care-manager", "manager", "service")


@pytest.fixture(scope="module")
def services(config):
    containers = []
    for cls in (CustomersService, ServiceDeskService):
        c = ServiceContainer(cls, config)
        c.start()
        containers.append(c)
    yield
    for c in reversed(containers):
        c.stop()


def _contact(name, birthday, primary=False, mobile="13800138000"):
    return {"name": name, "title": "经理", "mobile": mobile, "birthday": birthday,
            "is_primary": primary}


def _customer(proxy, contacts):
    data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
    data["contacts"] = contacts
    return proxy.customers.create_customer(data)


def _due(rpc, day, customer_id, kind):
    """The tasks of ``customer_id`` due by ``day`` once that day's tasks are made."""
    with rpc(MANAGER) as m:
        try:  # the timer's work for that day, where reads make no tasks
            m.service_desk.generate_care_tasks(day)
        except MethodNotFound:  # reads still make them
            pass
    with rpc(STAFF) as p:
        items = p.service_desk.due_care_tasks(day, True)["items"]
    return sorted(((x["occasion"], x["due_date"], x["title"]) for x in items
                   if x["customer_id"] == customer_id and x["kind"] == kind),
                  key=lambda t: (t[1], t[0]))


def test_two_contacts_with_one_name_two_greetings_kept_across_rewrites(services, rpc):
    with rpc() as p:
        c = _customer(p, [_contact("张伟", "1980-05-20", True),
                          _contact("张伟", "1991-05-18", mobile="13900139000")])
    with rpc(STAFF) as p:
        p.service_desk.create_care_plan(c["id"], "birthday", start_date="2026-01-01")
    first = _due(rpc, "2026-05-20", c["id"], "birthday")
    assert [(d, t) for _, d, t in first] == [("2026-05-18", "生日祝福：张伟"),
                                             ("2026-05-20", "生日祝福：张伟")]
    assert len({o for o, _, _ in first}) == 2
    with rpc() as p:  # customers writes the contacts anew: new ids, same two people
        p.customers.update_customer(c["id"], {"contacts": [
            _contact("张伟", "1991-05-18", mobile="13900139000"),
            _contact("张伟", "1980-05-20", True, mobile="13700137000")]})
        assert {x["id"] for x in p.customers.get_customer(c["id"])["contacts"]}.isdisjoint(
            {x["id"] for x in c["contacts"]})
    with rpc(STAFF) as p:  # a plan write re-reads the contacts at once (so does the event)
        p.service_desk.create_care_plan(c["id"], "holiday", start_date="2026-05-01")
    assert _due(rpc, "2026-05-21", c["id"], "birthday") == first


def test_new_year_2022_and_2023_and_festivals_after_2026(services, rpc):
    with rpc() as p:
        c = _customer(p, [_contact("李娜", None, True)])
    with rpc(STAFF) as p:
        p.service_desk.create_care_plan(c["id"], "holiday", start_date="2021-12-01")
    _due(rpc, "2022-01-01", c["id"], "holiday")
    got = _due(rpc, "2022-12-31", c["id"], "holiday")
    assert [(o, d) for o, d, _ in got if "new_year" in o] == [
        ("holiday:new_year:2022-01-01", "2022-01-01"),
        ("holiday:new_year:2023-01-01", "2022-12-31")]
    later = _due(rpc, "2027-02-06", c["id"], "holiday")
    assert ("holiday:spring_festival:2027-02-06", "2027-02-06", "节日问候：春节") in later
