"""The marketing workspace's pages and helper RPCs over HTTP on the real broker and
DB: the live audience count and customer finder (no contact data), campaign
counts by state, access (someone else's campaign is the 404 page, exports too),
CSRF refused with nothing written, bad input shown next to its field."""
import uuid

import pytest
import requests

from services.common.auth import mint_token
from services.common.cli.demo import demo_customers
from services.common.errors import Forbidden, ValidationError
from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from tests.support.fixtures import actor
from tests.support.web_session import WebSession, csrf_of

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
MARKETER = actor(f"mkp-{TAG}", "staff", "marketing")
SALES = actor(f"slp-{TAG}", "staff", "sales")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(MarketingGateway, CustomersService, MarketingService)


@pytest.fixture(scope="module")
def customers(base, config):
    from services.common.cli.rpc_client import cluster
    made = []
    with cluster(config) as p:
        for i, tags in enumerate(([f"t{TAG}", "老客户"], [f"t{TAG}"], ["其他"])):
            data = next(demo_customers(1, ["u1"], seed=uuid.uuid4().int % 10**9))
            data.update(name=f"西安{TAG}{i}号材料有限公司", tags=tags)
            made.append(p.customers.create_customer(data))
    return made


def campaign_data(**over):
    data = {"theme": f"新品发布会 {TAG}", "format": "online",
            "starts_at": "2027-03-01T06:00:00+00:00", "ends_at": "2027-03-01T09:00:00+00:00",
            "audience": {"tags_any": [f"t{TAG}"]}}
    data.update(over)
    return data


def web(base, config, who):
    return WebSession(base, config, who["id"], who["roles"][0], who["department"])


def test_audience_count_finder_and_counts(base, customers, rpc, config):
    with rpc(MARKETER) as p:
        mk = p.marketing
        assert mk.audience_count({"tags_any": [f"t{TAG}"]})["count"] == 2
        assert mk.audience_count({"tags_all": [f"t{TAG}", "老客户"]})["count"] == 1
        with pytest.raises(ValidationError) as err:
            mk.audience_count({"tier": "gold"})
        assert "tier" in err.value.fields
        found = mk.find_customers(f"西安{TAG}")
        assert {c["id"] for c in found} == {c["id"] for c in customers}
        assert all(set(c) == {"id", "name", "tier", "region"} for c in found)
        before = mk.campaign_counts()
        mk.create_campaign(campaign_data())
        assert mk.campaign_counts()["draft"] == before["draft"] + 1
        # a customer's campaigns (the customer page links here): registered or targeted
        camp = mk.create_campaign(campaign_data(theme=f"客户的活动 {TAG}", audience={
            "tags_all": [f"t{TAG}", "老客户"]}))
        mk.schedule_campaign(camp["id"])
        mk.launch_campaign(camp["id"])
        mk.register_participant(camp["id"], {"customer_id": customers[1]["id"]})
        for c, expected in ((customers[0], 1), (customers[1], 1), (customers[2], 0)):
            got = mk.list_campaigns({"customer_id": c["id"]})
            assert got["total"] == expected and all(
                x["id"] == camp["id"] for x in got["items"]), c["id"]
    s = web(base, config, MARKETER)
    page = s.get(f"/app/campaigns?customer_id={customers[1]['id']}")
    assert page.status_code == 200 and f'id="campaign-{camp["id"]}"' in page.text
    with rpc(SALES) as p, pytest.raises(Forbidden):
        p.marketing.audience_count({})
    r = requests.post(f"{base}/audience/count", json={"tags_any": [f"t{TAG}"]}, headers={
        "Authorization": "Bearer " + mint_token(config, MARKETER["id"], "staff", "marketing")})
    assert r.status_code == 200 and r.json()["count"] == 2


def test_campaign_pages_access_csrf_and_field_errors(base, customers, rpc, config):
    s = web(base, config, MARKETER)
    form = s.get("/app/campaigns/new")
    assert form.status_code == 200
    token = csrf_of(form.text)
    bad = s.post("/app/campaigns/new", data={
        "csrf_token": token, "theme": f"坏输入 {TAG}", "format": "salon",
        "starts_at": "2027-03-01T14:00", "ends_at": "2027-03-01T10:00", "budget": "12.345",
        "audience.tier": "gold"})
    assert bad.status_code == 422
    for field in ("budget", "audience.tier"):
        assert f'<a href="#f-{field.replace(".", "-")}"' in bad.text, field
    assert f"坏输入 {TAG}" in bad.text
    # the window is checked once the fields are valid (marshmallow schema validators)
    bad = s.post("/app/campaigns/new", data={
        "csrf_token": token, "theme": f"坏输入 {TAG}", "format": "online",
        "starts_at": "2027-03-01T14:00", "ends_at": "2027-03-01T10:00"})
    assert bad.status_code == 422 and '<a href="#f-ends_at"' in bad.text
    assert "结束时间须晚于开始时间" in bad.text  # the service's message, in zh-CN
    with rpc(MARKETER) as p:
        assert p.marketing.list_campaigns({"q": f"坏输入 {TAG}"})["total"] == 0
    # CSRF: no token, a forged one -> 403, nothing written
    for data in ({}, {"csrf_token": "forged"}):
        r = s.post("/app/campaigns/new", data=dict(data, theme=f"CSRF {TAG}", format="online",
                                                   starts_at="2027-03-01T14:00",
                                                   ends_at="2027-03-01T16:00"))
        assert r.status_code == 403
    with rpc(MARKETER) as p:
        assert p.marketing.list_campaigns({"q": f"CSRF {TAG}"})["total"] == 0
    ok = s.post("/app/campaigns/new", data={
        "csrf_token": token, "theme": f"好输入 {TAG}", "format": "online",
        "starts_at": "2027-03-01T14:00", "ends_at": "2027-03-01T16:00",
        "audience.tags_any": f"t{TAG}"}, allow_redirects=False)
    assert ok.status_code == 303
    cid = int(ok.headers["Location"].rsplit("/", 1)[1])
    page = s.get(f"/app/campaigns/{cid}")
    assert page.status_code == 200 and f"好输入 {TAG}" in page.text
    en = s.get(f"/app/campaigns/{cid}?lang=en")
    assert '<html lang="en">' in en.text and "Evaluation" in en.text and "Milestones" in en.text
    s.get("/app/campaigns?lang=zh_CN")
    with rpc(MARKETER) as p:
        got = p.marketing.get_campaign(cid)
    assert got["starts_at"].startswith("2027-03-01T06:00")  # 14:00 Asia/Shanghai
    # sales staff: not theirs -> the 404 page, exports too
    other = web(base, config, SALES)
    for path in (f"/app/campaigns/{cid}", f"/app/campaigns/{cid}/participants.csv",
                 f"/app/campaigns/{cid}/evaluation.xlsx"):
        assert other.get(path).status_code == 404, path
    r = s.post(f"/app/campaigns/{cid}/launch", data={"csrf_token": "forged"})
    assert r.status_code == 403
    with rpc(MARKETER) as p:
        assert p.marketing.get_campaign(cid)["state"] == "draft"
    # an unknown export format is not found
    assert s.get(f"/app/campaigns/{cid}/participants.pdf").status_code == 404
