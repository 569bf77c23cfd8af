"""The sales pages' actions over HTTP on a real gateway, broker and services, each checked
through the RPCs and on the page itself: a manager assigns a lead by the rules, a
salesperson disqualifies a lead and loses an opportunity with a reason (a converted lead's
disqualify is the conflict page), the leads list's source / region / industry-prefix
filters give exactly the expected rows, and My day marks an overdue follow-up as late and
one due later today not. Every assertion fails if the page ignored its form or filter."""
import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

import pytest

from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration

MANAGER = actor("m1", "manager", "management")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


def _tag():
    return uuid.uuid4().hex[:6]


def _customer(rpc, owner):
    from services.common.cli.demo import demo_customers
    data = next(demo_customers(1, [owner], seed=uuid.uuid4().int % 10 ** 9))
    with rpc(actor(owner)) as p:
        return p.customers.create_customer(dict(data, type="potential", influence=1))


def _opportunity(rpc, owner, close="2030-06-30"):
    c = _customer(rpc, owner)
    with rpc(actor(owner)) as p:
        return p.sales.create_opportunity({"customer_id": c["id"], "amount": "50000.00",
                                           "expected_close_date": close, "competitors": []})


def _section(html, section_id):
    start = html.index(f'id="{section_id}"')
    return html[start:html.index("</section>", start)]


def _summary(html):
    """The detail page's summary list → {label: value}."""
    dl = html[html.index('class="summary-list"'):]
    dl = dl[:dl.index("</dl>")]
    return dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", dl))


def _stored_rules(p):
    return [{k: v for k, v in r.items() if k not in ("position", "cursor")}
            for r in p.sales.get_assignment_rules()["rules"]]


# --- assignment by the rules -------------------------------------------------------------
def test_manager_assigns_a_lead_by_the_rules_on_the_page(base, config, rpc):
    tag = _tag()
    region, other_region = f"分配区{tag}", f"别区{tag}"
    by_rule, decoy = f"ar-rule-{tag}", f"ar-decoy-{tag}"
    boss = Browserless(base, config, "m1", "manager", "management")
    with rpc(MANAGER) as p:
        before = _stored_rules(p)
        p.sales.set_assignment_rules([
            {"kind": "region", "region": other_region, "owner_id": decoy},
            {"kind": "region", "region": region, "owner_id": by_rule},
        ])
        lead = p.sales.create_lead({"source": "phone", "customer_name": f"按规则公司{tag}",
                                    "region": region})
        by_hand = p.sales.create_lead({"source": "phone", "customer_name": f"手工公司{tag}",
                                       "region": region})
    try:
        assert lead["owner_id"] is None and lead["status"] == "new"
        page = boss.get(f"/app/leads/{lead['id']}").text
        form = _section(page, "assign")
        assert 'name="owner_id"' in form and f'action="/app/leads/{lead["id"]}/assign"' in form
        # the blank choice ("by the rules") posted: the second rule's owner, not the first's
        r = boss.post(f"/app/leads/{lead['id']}/assign", {"owner_id": ""},
                      token_from=f"/app/leads/{lead['id']}")
        assert r.status_code == 303, r.text[-1500:]
        assert r.headers["Location"].endswith(f"/app/leads/{lead['id']}")
        with rpc(MANAGER) as p:
            got = p.sales.get_lead(lead["id"])
        assert (got["owner_id"], got["assignment_rule"], got["status"]) == (
            by_rule, "region", "following_up"), got
        page = boss.get(f"/app/leads/{lead['id']}").text
        assert _summary(page)["负责人"] == f"{by_rule} · 按地区", _summary(page)
        # a person chosen on the same form wins over the rules (the form is read)
        r = boss.post(f"/app/leads/{by_hand['id']}/assign", {"owner_id": "u2"},
                      token_from=f"/app/leads/{by_hand['id']}")
        assert r.status_code == 303, r.text[-1500:]
        with rpc(MANAGER) as p:
            got = p.sales.get_lead(by_hand["id"])
        assert (got["owner_id"], got["assignment_rule"]) == ("u2", "manual"), got
    finally:
        with rpc(MANAGER) as p:
            p.sales.set_assignment_rules(before)


# --- disqualify a lead -------------------------------------------------------------------
def test_salesperson_disqualifies_a_lead_with_a_reason(base, config, rpc):
    me = f"dq-{_tag()}"
    u = Browserless(base, config, me)
    with rpc(actor(me)) as p:
        lead = p.sales.create_lead({"source": "website", "customer_name": f"无效公司{_tag()}"})
    path = f"/app/leads/{lead['id']}"
    assert f'action="{path}/disqualify"' in _section(u.get(path).text, "disqualify")
    # no reason: refused next to the field, nothing changes
    r = u.post(f"{path}/disqualify", {"reason": "  "}, token_from=path)
    assert r.status_code == 422, r.text[-1500:]
    with rpc(actor(me)) as p:
        assert p.sales.get_lead(lead["id"])["status"] == "following_up"
    reason = f"预算取消，明年再议 {_tag()}"
    r = u.post(f"{path}/disqualify", {"reason": reason}, token_from=path)
    assert r.status_code == 303 and r.headers["Location"].endswith(path), r.text[-1500:]
    with rpc(actor(me)) as p:
        got = p.sales.get_lead(lead["id"])
    assert (got["status"], got["disqualify_reason"]) == ("disqualified", reason), got
    page = u.get(path).text
    assert _summary(page)["无效原因"] == reason, _summary(page)
    assert "无效" in page.split("</h1>")[0]  # the status badge
    assert 'id="disqualify"' not in page  # closed: no more disqualify form


def test_disqualifying_a_converted_lead_says_why_on_the_lead(base, config, rpc):
    """The form was open when the lead was converted: back to the lead with the reason in
    the page's language (not the kit's "someone else changed this record" page, not the
    service's English), nothing changed."""
    me = f"dc-{_tag()}"
    u = Browserless(base, config, me)
    c = _customer(rpc, me)
    with rpc(actor(me)) as p:
        lead = p.sales.create_lead({"source": "referral", "customer_id": c["id"]})
        opp = p.sales.convert_lead(lead["id"], {"amount": "1000.00",
                                                "expected_close_date": "2030-06-30"})
    assert opp["lead"]["status"] == "converted"
    r = u.post(f"/app/leads/{lead['id']}/disqualify", {"reason": "重复线索"},
               token_from="/app/my-day")
    assert r.status_code == 303, (r.status_code, r.text[-1500:])
    assert r.headers["Location"].endswith(f"/app/leads/{lead['id']}")
    page = u.get(f"/app/leads/{lead['id']}").text
    assert "线索已转化，不能标记为无效" in page, page[-1500:]
    assert "cannot be disqualified" not in page and "记录已被修改" not in page
    assert "Traceback" not in page
    with rpc(actor(me)) as p:
        got = p.sales.get_lead(lead["id"])
    assert (got["status"], got["disqualify_reason"]) == ("converted", None), got


# --- lose an opportunity -----------------------------------------------------------------
def test_salesperson_loses_an_opportunity_with_a_reason(base, config, rpc):
    me = f"lo-{_tag()}"
    u = Browserless(base, config, me)
    opp = _opportunity(rpc, me)
    path = f"/app/opportunities/{opp['id']}"
    assert f'action="{path}/lose"' in _section(u.get(path).text, "lose")
    r = u.post(f"{path}/lose", {"reason": ""}, token_from=path)
    assert r.status_code == 422, r.text[-1500:]
    with rpc(actor(me)) as p:
        assert p.sales.get_opportunity(opp["id"])["stage"] == opp["stage"]
    reason = f"价格高于竞品 15% {_tag()}"
    r = u.post(f"{path}/lose", {"reason": reason}, token_from=path)
    assert r.status_code == 303 and r.headers["Location"].endswith(path), r.text[-1500:]
    with rpc(actor(me)) as p:
        got = p.sales.get_opportunity(opp["id"])
    assert (got["stage"], got["lost_reason"]) == ("lost", reason), got
    page = u.get(path).text
    assert _summary(page)["丢单原因"] == reason, _summary(page)
    assert "丢单" in page.split("</h1>")[0]  # the stage badge
    assert 'id="lose"' not in page  # closed: no more lose form


# --- the leads list's filters ------------------------------------------------------------
def _rows(u, **params):
    r = u.get("/app/leads", params=params)
    assert r.status_code == 200, r.text[-1500:]
    table = r.text[r.text.index('id="leads"'):]
    table = table[:table.index("</table>")]
    return set(map(int, re.findall(r'data-lead="(\d+)"', table)))


def test_leads_list_filters_give_exactly_the_matching_rows(base, config, rpc):
    me, mark = f"lf-{_tag()}", f"筛选{_tag()}"
    u = Browserless(base, config, me)
    plain = {"source": "website", "region": "上海", "industry_code": "C3511"}
    variants = {  # each differs from ``plain`` in one field
        "plain": {},
        "phone": {"source": "phone"},
        "beijing": {"region": "北京"},
        "c36": {"industry_code": "C3611"},  # same section C, other division
        "f": {"industry_code": "F5171"},
    }
    ids = {}
    with rpc(actor(me)) as p:
        for name, change in variants.items():
            ids[name] = p.sales.create_lead(dict(plain, **change,
                                                 customer_name=f"{mark}{name}公司"))["id"]
    every = set(ids.values())
    assert _rows(u, q=mark) == every  # the marker scopes the list to these five

    def only(*names):
        return {ids[n] for n in names}
    cases = [
        ({"source": "phone"}, only("phone")),
        ({"source": "website"}, every - only("phone")),
        ({"source": "trade_show"}, set()),
        ({"region": "北京"}, only("beijing")),
        ({"region": "上海"}, every - only("beijing")),
        ({"industry_code": "C35"}, only("plain", "phone", "beijing")),
        ({"industry_code": "c35"}, only("plain", "phone", "beijing")),  # as typed
        ({"industry_code": "C"}, every - only("f")),
        ({"industry_code": "F"}, only("f")),
        ({"industry_code": "C3611"}, only("c36")),
        ({"source": "website", "region": "上海", "industry_code": "C35"},
         only("plain")),
    ]
    for params, expected in cases:
        assert _rows(u, q=mark, **params) == expected, params
    # the filters are kept in the form (what the user chose is what the list shows)
    page = u.get("/app/leads", params={"q": mark, "source": "phone", "region": "北京",
                                       "industry_code": "C35"}).text
    assert re.search(r'<option value="phone"[^>]*selected', page)
    assert 'value="北京"' in page and 'value="C35"' in page


# --- My day: overdue and due today -------------------------------------------------------
def test_my_day_marks_the_overdue_follow_up_late_and_todays_not(base, config, rpc):
    tz = ZoneInfo(config.get("CRM_TIMEZONE") or "Asia/Shanghai")
    now = dt.datetime.now(dt.UTC)
    local = now.astimezone(tz)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
    left = midnight - local
    if left < dt.timedelta(minutes=4):
        pytest.skip("too close to local midnight for a follow-up due later today")
    me = f"md-{_tag()}"
    u = Browserless(base, config, me)
    opp = _opportunity(rpc, me)
    with rpc() as p:  # an import (a system call at a past time): due an hour ago
        late = p.sales.schedule_follow_up(
            opp["id"], (now - dt.timedelta(hours=1)).isoformat(), "逾期的回访",
            at=(now - dt.timedelta(hours=3)).isoformat())
    with rpc(actor(me)) as p:
        soon = p.sales.schedule_follow_up(
            opp["id"], (now + min(dt.timedelta(minutes=30), left / 2)).isoformat(),
            "今天晚些的回访")
    assert late["owner_id"] == me and soon["owner_id"] == me
    page = u.get("/app/my-day").text
    section = _section(page, "day-follow-ups")
    rows = dict((int(i), cls) for cls, i in re.findall(
        r'<tr class="([^"]*)" data-follow-up="(\d+)"', section))
    assert rows == {late["id"]: "row-late", soon["id"]: "row-soon"}, rows
    late_row = re.search(rf'data-follow-up="{late["id"]}".*?</tr>', section, re.S).group(0)
    soon_row = re.search(rf'data-follow-up="{soon["id"]}".*?</tr>', section, re.S).group(0)
    assert "已逾期" in late_row and "已逾期" not in soon_row
    assert "今天" in soon_row
    counts = section[:section.index("</h2>")]
    assert "逾期 1 · 今天 1" in counts, counts
