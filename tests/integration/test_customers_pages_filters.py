"""The customers list page maps each filter of its form onto list_customers (issue 17
audit: tags any-of, region, the managers' owner filter, type and sort were only fuzzed
for "no internals", never checked for the rows they give). Each case asserts the exact
rows the page lists for a set of customers made for the test; staff cannot widen their
list with owner_id. Real gateway, service and broker (SQLite or PostgreSQL)."""
import re
import uuid

import pytest

from services.common.cli.rpc_client import cluster
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def site(module_gateway, config):
    base = module_gateway(CustomersGateway, CustomersService)
    a, b = f"pf-a-{TAG}", f"pf-b-{TAG}"
    return {"base": base, "a": a, "b": b,
            "sa": WebSession(base, config, a),
            "m": WebSession(base, config, f"pf-m-{TAG}", "manager", "management")}


@pytest.fixture(scope="module")
def made(site, config):
    """Four customers whose names all hold the test's marker, so ``q`` scopes every
    case to them: (owner, region, type, tags) differ one at a time."""
    rows = {
        "甲": (site["a"], "上海", "potential", ["展会获取", f"甲{TAG}"]),
        "乙": (site["a"], "北京", "closed", [f"乙{TAG}"]),
        "丙": (site["b"], "上海", "potential", [f"乙{TAG}", f"丙{TAG}"]),
        "丁": (site["b"], "广州", "potential", [f"丁{TAG}"]),
    }
    out = {}
    for key, (owner, region, kind, tags) in rows.items():
        with cluster(config, actor(owner), 15) as p:
            out[key] = p.customers.create_customer(data.customer(
                name=f"筛选{TAG}{key}号机械有限公司", region=region, type=kind,
                tags=tags))["id"]
    return out


def listed(session, **params):
    params.setdefault("q", f"筛选{TAG}")
    if params["q"] is None:
        del params["q"]
    r = session.get("/app/customers", params=params)
    assert r.status_code == 200, r.text[:500]
    return [int(x) for x in re.findall(r'<tr data-id="(\d+)"', r.text)]


def test_each_filter_gives_its_rows(site, made, config):
    m = site["m"]
    ids = made
    assert sorted(listed(m)) == sorted(ids.values())
    assert sorted(listed(m, region="上海")) == sorted([ids["甲"], ids["丙"]])
    assert listed(m, type="closed") == [ids["乙"]]
    assert sorted(listed(m, owner_id=site["b"])) == sorted([ids["丙"], ids["丁"]])
    # tags: all-of by default, any-of with tags_mode=any
    assert listed(m, tags=f"乙{TAG},丙{TAG}") == [ids["丙"]]
    assert sorted(listed(m, tags=f"甲{TAG},丁{TAG}", tags_mode="any")) == sorted(
        [ids["甲"], ids["丁"]])
    assert listed(m, tags=f"甲{TAG},丁{TAG}") == []
    # filters combine
    assert listed(m, region="上海", owner_id=site["a"]) == [ids["甲"]]

    # sort (applies without q: a search is ranked): the four by their tags, any-of
    mine = {"tags": f"甲{TAG},乙{TAG},丁{TAG}", "tags_mode": "any", "q": None}
    by_id = listed(m, **mine)
    assert by_id == sorted(ids.values())
    by_name, by_name_desc = listed(m, sort="name", **mine), listed(m, sort="-name", **mine)
    assert sorted(by_name) == by_id and by_name == by_name_desc[::-1] and by_name != by_id
    if config["DB_URIS"]["customers"].startswith("sqlite"):
        # code-point order: 丁 U+4E01 < 丙 U+4E19 < 乙 U+4E59 < 甲 U+7532
        assert by_name == [ids["丁"], ids["丙"], ids["乙"], ids["甲"]]


def test_staff_cannot_widen_their_list_with_owner_id(site, made):
    sa = site["sa"]
    mine = sorted([made["甲"], made["乙"]])
    assert sorted(listed(sa)) == mine
    assert sorted(listed(sa, owner_id=site["b"])) == mine  # ignored for staff
    assert listed(sa, region="上海") == [made["甲"]]


def test_detail_page_shows_a_broken_modification_log(site, made, config):
    """A history entry edited in the database (not through the service): the detail
    page's log badge says the check failed and names the entry, in zh-CN."""
    from sqlalchemy import create_engine, text

    from services.common.db import with_driver
    cid = made["甲"]
    r = site["m"].get(f"/app/customers/{cid}")
    assert r.status_code == 200 and "校验通过" in r.text
    engine = create_engine(with_driver(config["DB_URIS"]["customers"]))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE customer_history SET operator_id = 'someone-else' "
                              "WHERE customer_id = :c AND seq = 1"), {"c": cid})
    finally:
        engine.dispose()
    r = site["m"].get(f"/app/customers/{cid}")
    assert r.status_code == 200
    assert "日志校验失败：第 1 条被改动" in r.text and "校验通过" not in r.text
