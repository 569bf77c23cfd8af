"""The service workspace's pages over HTTP (the kit's cookie sign-in), on the real
broker and DB: access (staff see theirs and the ones they opened, others are the
404 page), CSRF refused with nothing written, bad input shown next to the fields,
the public FAQ and survey pages (no sign-in, no contact data, used and expired
links refused)."""
import datetime as dt
import re
import uuid

import pytest

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor
from tests.support.web_session import WebSession, csrf_of

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
AGENT, OTHER = f"pa-{TAG}", f"pb-{TAG}"
MANAGER = actor(f"pm-{TAG}", "manager", "service")


@pytest.fixture(scope="module")
def base(module_gateway, config):
    url = module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)
    from services.common.cli.rpc_client import cluster
    with cluster(config, MANAGER) as p:
        for a in (AGENT, OTHER):
            p.service_desk.set_agent(a, {"name": a, "categories": []})
    return url


@pytest.fixture(scope="module")
def customer(base, config):
    from services.common.cli.rpc_client import cluster
    data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
    data["name"] = f"苏州{TAG}电子有限公司"
    with cluster(config) as p:
        return p.customers.create_customer(data)


def web(base, config, user, role="staff"):
    return WebSession(base, config, user, role, "service")


def ticket_for(rpc, customer, agent, **over):
    data = {"kind": "complaint", "severity": "high", "customer_id": customer["id"],
            "complainant_name": "赵先生", "complainant_contact": "13900001111",
            "channel": "phone", "subject": f"投诉 {TAG}", "description": "送货延误三天。"}
    data.update(over)
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket(data)
        return p.service_desk.assign_ticket(t["id"], agent)


def test_queue_and_ticket_pages_follow_access_rules(base, config, customer, rpc):
    mine = ticket_for(rpc, customer, AGENT)
    theirs = ticket_for(rpc, customer, OTHER)
    s = web(base, config, AGENT)
    r = s.get("/app/tickets")
    assert r.status_code == 200 and f'id="ticket-{mine["id"]}"' in r.text
    assert f'id="ticket-{theirs["id"]}"' not in r.text
    assert s.get(f"/app/tickets/{theirs['id']}").status_code == 404
    assert s.get(f"/app/tickets/{mine['id']}").status_code == 200
    en = s.get(f"/app/tickets/{mine['id']}?lang=en")
    assert en.status_code == 200 and "Timeline" in en.text and "Reply to the customer" in en.text
    assert '<html lang="en">' in en.text
    s.get("/app/tickets?lang=zh_CN")  # back to Chinese for the rest
    # a ticket AGENT opened and the manager gave to OTHER: visible, read-only
    with rpc(actor(AGENT, "staff", "service")) as p:
        opened = p.service_desk.open_ticket({
            "kind": "inquiry", "severity": "low", "customer_id": customer["id"],
            "complainant_name": "钱女士", "channel": "online", "subject": f"咨询 {TAG}",
            "description": "发票抬头怎么改？"})
    with rpc(MANAGER) as p:
        p.service_desk.assign_ticket(opened["id"], OTHER)
    page = s.get(f"/app/tickets/{opened['id']}")
    assert page.status_code == 200 and 'id="read-only"' in page.text
    assert 'id="form-respond"' not in page.text
    token = csrf_of(page.text)
    r = s.post(f"/app/tickets/{opened['id']}/respond", data={"csrf_token": token,
                                                             "message": "试图答复"})
    assert r.status_code == 404
    assert s.get("/app/tickets").status_code == 200
    assert web(base, config, OTHER).get(f"/app/tickets/{mine['id']}").status_code == 404
    # managers: mine by default, all on request
    m = web(base, config, MANAGER["id"], "manager")
    assert f'id="ticket-{theirs["id"]}"' in m.get("/app/tickets?view=all&q=" + TAG).text
    # one agent's tickets (the dashboard's scorecard row links here)
    only_other = m.get(f"/app/tickets?view=all&assignee_id={OTHER}&q={TAG}").text
    assert f'id="ticket-{theirs["id"]}"' in only_other
    assert f'id="ticket-{mine["id"]}"' not in only_other
    # the customer page's link: a customer's tickets, everyone's
    assert f'id="ticket-{theirs["id"]}"' in m.get(f"/app/tickets?customer_id={customer['id']}").text
    # no sign-in: to the sign-in page, never JSON
    r = WebSession(base).get("/app/tickets", allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")


def test_csrf_refused_with_nothing_written(base, config, customer, rpc):
    t = ticket_for(rpc, customer, AGENT)
    s = web(base, config, AGENT)
    before = len(s.get(f"/app/tickets/{t['id']}").text)
    for token in (None, "forged", csrf_of(web(base, config, OTHER).get("/app/tickets").text)):
        data = {"message": "CSRF 试探"}
        if token:
            data["csrf_token"] = token
        r = s.post(f"/app/tickets/{t['id']}/respond", data=data)
        assert r.status_code == 403
    with rpc(MANAGER) as p:
        got = p.service_desk.get_ticket(t["id"])
    assert got["status"] == "open" and got["entries"] == t["entries"]  # nothing written
    r = s.post("/app/tickets/new", data={"kind": "complaint", "severity": "high",
                                         "customer_id": customer["id"], "subject": "x"})
    assert r.status_code == 403
    assert len(s.get(f"/app/tickets/{t['id']}").text) == before


def test_bad_input_shown_next_to_fields_nothing_written(base, config, customer, rpc):
    s = web(base, config, AGENT)
    page = s.get("/app/tickets/new", params={"customer_q": TAG})
    assert page.status_code == 200 and customer["name"] in page.text
    mobile = next(c for c in customer["contacts"] if c.get("is_primary"))["mobile"]
    assert mobile not in page.text and f"{mobile[:3]}****{mobile[-4:]}" in page.text
    r = s.post("/app/tickets/new", data={
        "csrf_token": csrf_of(page.text), "kind": "complaint", "severity": "urgent",
        "channel": "phone", "complainant_name": "", "subject": f"坏输入 {TAG}",
        "description": "设备报警", "customer_id": str(customer["id"])})
    assert r.status_code == 422
    for field in ("severity", "complainant_name"):
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', r.text) or \
            f'<a href="#f-{field}"' in r.text, field
    assert 'class="error-summary"' in r.text and "请从列表中选择" in r.text  # zh-CN
    assert f"坏输入 {TAG}" in r.text  # the entered values are kept
    r = s.post("/app/tickets/new", data={
        "csrf_token": csrf_of(page.text), "kind": "complaint", "severity": "high",
        "channel": "phone", "complainant_name": "孙先生", "subject": f"坏输入 {TAG}",
        "description": "身份证 11010519491231002X 请核实", "customer_id": str(customer["id"])})
    assert r.status_code == 422 and '<a href="#f-description"' in r.text  # SENSITIVE_DATA
    assert "11010519491231002X" in r.text  # kept for correction, never stored
    with rpc(MANAGER) as p:
        assert p.service_desk.list_tickets({"q": f"坏输入 {TAG}"})["total"] == 0
    r = s.post("/app/tickets/new", data={"csrf_token": csrf_of(page.text), "kind": "complaint",
                                         "severity": "high", "channel": "phone",
                                         "complainant_name": "a", "subject": "b",
                                         "description": "c"})
    assert r.status_code == 422 and 'id="f-customer_id"' in r.text
    t = ticket_for(rpc, customer, AGENT)
    r = s.post(f"/app/tickets/{t['id']}/resolve", data={
        "csrf_token": csrf_of(page.text), "resolution": "", "root_cause": "bad_luck"})
    assert r.status_code == 422
    assert '<a href="#f-resolution"' in r.text and '<a href="#f-root_cause"' in r.text


def test_public_faq_pages_without_sign_in_no_contact_data(base, config, rpc):
    with rpc(MANAGER) as p:
        f = p.service_desk.create_faq({"question": f"如何修改收货地址{TAG}",
                                       "answer": "在订单详情页点击“修改地址”。",
                                       "category": "订单", "keywords": "地址 收货"})
        draft = p.service_desk.create_faq({"question": f"内部草稿{TAG}", "answer": "未发布",
                                           "category": "订单"})
        p.service_desk.publish_faq(f["id"])
    anon = WebSession(base)
    r = anon.get("/app/public/faq", params={"q": f"收货地址{TAG}"})
    assert r.status_code == 200 and f"如何修改收货地址{TAG}" in r.text
    assert f"内部草稿{TAG}" not in r.text
    art = anon.get(f"/app/public/faq/{f['id']}")
    assert art.status_code == 200 and "修改地址" in art.text
    assert MANAGER["id"] not in art.text  # no author
    assert anon.get(f"/app/public/faq/{draft['id']}").status_code == 404
    assert '<html lang="zh-CN">' in art.text
    for page in (r.text, art.text):
        assert not re.search(r"1[3-9]\d{9}", page) and "@" not in page.replace(
            "@media", "")
    # the JSON search stays JSON
    assert anon.get("/faq", params={"q": "地址"}, headers={"Accept": "*/*"}).headers[
        "Content-Type"].startswith("application/json")


def test_public_survey_page_once_then_refused(base, config, customer, rpc):
    t = ticket_for(rpc, customer, AGENT)
    with rpc(actor(AGENT, "staff", "service")) as p:
        p.service_desk.resolve_ticket(t["id"], "已补发", "delivery")
    s = web(base, config, AGENT)
    page = s.get(f"/app/tickets/{t['id']}")
    r = s.post(f"/app/tickets/{t['id']}/survey-link", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    url = re.search(r'id="survey-url"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="survey-url"',
                    r.text)
    link = next(g for g in url.groups() if g)
    path = link[link.index("/app/survey/"):]
    customer_browser = WebSession(base)
    form = customer_browser.get(path)
    assert form.status_code == 200 and 'id="survey-form"' in form.text
    assert "13900001111" not in form.text and "赵先生" not in form.text
    assert customer["name"] not in form.text
    token = csrf_of(form.text)
    bad = customer_browser.post(path, data={"csrf_token": token, "score": "9"})
    assert bad.status_code == 422 and '<a href="#f-score"' in bad.text
    ok = customer_browser.post(path, data={"csrf_token": token, "score": "5",
                                           "comment": "很快解决"})
    assert ok.status_code == 200 and 'id="survey-thanks"' in ok.text
    again = customer_browser.post(path, data={"csrf_token": token, "score": "1"})
    assert 'data-state="used"' in again.text
    assert customer_browser.get(path).status_code == 410
    with rpc(MANAGER) as p:
        assert p.service_desk.get_survey(t["id"])["score"] == 5
    # expired
    t2 = ticket_for(rpc, customer, AGENT)
    with rpc(actor("sd-admin", "admin", "management")) as p:
        p.service_desk.resolve_ticket(t2["id"], "已处理", "other")
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=20)).isoformat()
        link2 = p.service_desk.issue_survey_link(t2["id"], 14, at=old)
    r = customer_browser.get(link2["path"])
    assert r.status_code == 410 and 'data-state="expired"' in r.text
    r = customer_browser.post(link2["path"], data={"csrf_token": token, "score": "5"})
    assert 'data-state="expired"' in r.text
    assert customer_browser.get("/app/survey/not-a-token-at-all-0123456789").status_code == 404
    with rpc(MANAGER) as p:
        from services.common.errors import NotFound
        with pytest.raises(NotFound):
            p.service_desk.get_survey(t2["id"])


def test_queue_pages_by_number_and_by_cursor(base, config, customer, rpc):
    tag = f"页{uuid.uuid4().hex[:6]}"
    with rpc(MANAGER) as p:
        for i in range(26):
            p.service_desk.open_ticket({
                "kind": "inquiry", "severity": "low", "customer_id": customer["id"],
                "complainant_name": "周女士", "channel": "online", "subject": f"{tag} {i}",
                "description": "分页"})
        first = p.service_desk.list_tickets({"sort": "due", "q": tag}, 1, 25)
    assert first["total"] == 26 and first["next_cursor"]
    m = web(base, config, MANAGER["id"], "manager")
    page1 = m.get("/app/tickets", params={"view": "all", "q": tag})
    assert page1.text.count('<tr class=') == 25 and 'rel="next"' in page1.text
    page2 = m.get("/app/tickets", params={"view": "all", "q": tag, "page": 2})
    assert page2.text.count('<tr class=') == 1
    by_cursor = m.get("/app/tickets", params={"view": "all", "q": tag,
                                              "cursor": first["next_cursor"]})
    assert by_cursor.status_code == 200 and by_cursor.text.count('<tr class=') == 1
    assert 'id="first-page"' in by_cursor.text and 'rel="next"' not in by_cursor.text
    bad = m.get("/app/tickets", params={"view": "all", "q": tag, "cursor": "garbage"})
    assert bad.status_code == 422 and 'class="error-summary"' in bad.text


CHROME_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                 "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")


def test_browser_on_faq_goes_to_the_public_pages_json_clients_keep_json(base, rpc):
    import requests
    with rpc(MANAGER) as p:
        f = p.service_desk.create_faq({"question": f"发票怎么开{TAG}", "answer": "在订单页申请。",
                                       "category": "发票", "keywords": "发票"})
        draft = p.service_desk.create_faq({"question": f"草稿{TAG}", "answer": "x",
                                           "category": "发票"})
        p.service_desk.publish_faq(f["id"])
    # a browser (Chrome's Accept): 302 to the public pages, query kept, no sign-in needed
    for path, page in ((f"/faq?q=发票{TAG}", f"/app/public/faq?q=%E5%8F%91%E7%A5%A8{TAG}"),
                       (f"/faq/{f['id']}", f"/app/public/faq/{f['id']}")):
        r = requests.get(base + path, headers={"Accept": CHROME_ACCEPT}, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == page, (path, r.headers)
        assert "Accept" in r.headers["Vary"]
        followed = requests.get(base + path, headers={"Accept": CHROME_ACCEPT})
        assert followed.status_code == 200 and f"发票怎么开{TAG}" in followed.text
        assert followed.headers["Content-Type"].startswith("text/html")
    # API clients: no Accept, */*, JSON, JSON first, JSON preferred -> JSON as before
    for accept in (None, "*/*", "application/json", "application/json, text/html",
                   "text/html;q=0.5, application/json"):
        headers = {"Accept": accept} if accept else {}
        r = requests.get(f"{base}/faq", params={"q": f"发票{TAG}"}, headers=headers,
                         allow_redirects=False)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        body = r.json()
        assert f"发票怎么开{TAG}" in [item["question"] for item in body["items"]]
        assert all("author_id" not in item for item in body["items"])  # anonymous caller
        one = requests.get(f"{base}/faq/{f['id']}", headers=headers, allow_redirects=False)
        assert one.status_code == 200 and one.json()["question"] == f"发票怎么开{TAG}"
        assert set(one.json()) == {"id", "question", "answer", "category", "published_at"}
        gone = requests.get(f"{base}/faq/{draft['id']}", headers=headers)
        assert gone.status_code == 404 and gone.json()["error"] == "NOT_FOUND"
