"""The service workspace's page forms over HTTP (issue 19 audit: proven only over
RPC until now), on the real gateway, services, broker and DB: a signed-in session
reads the CSRF token from the form's page, posts the form, follows the redirect,
and the change is checked over RPC and on the page. Ticket reopen, assign
(manager), record a survey (agent); care "record visit" and the care plan form;
the FAQ admin page's top hits after public searches."""
import re
import time
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
AGENT, OTHER = f"fa-{TAG}", f"fb-{TAG}"
AGENT_ACTOR = actor(AGENT, "staff", "service")
MANAGER = actor(f"fm-{TAG}", "manager", "service")


@pytest.fixture(scope="module")
def base(module_gateway, config):
    url = module_gateway(ServiceDeskGateway, CustomersService, ServiceDeskService)
    from services.common.cli.rpc_client import cluster
    with cluster(config, MANAGER) as p:
        for a in (AGENT, OTHER):
            p.service_desk.set_agent(a, {"name": f"坐席{a}", "categories": []})
    return url


@pytest.fixture(scope="module")
def customer(base, config):
    from services.common.cli.rpc_client import cluster
    data = next(demo_customers(1, ["sales-1"], seed=uuid.uuid4().int % 10**9))
    data["name"] = f"宁波{TAG}模具有限公司"
    with cluster(config) as p:
        return p.customers.create_customer(data)


def web(base, config, user, role="staff"):
    return WebSession(base, config, user, role, "service")


def follow(s, r, to):
    """The form's answer: 303 to ``to``; the page it leads to (with the flash)."""
    assert r.status_code == 303, (r.status_code, r.text[:600])
    assert r.headers["Location"].endswith(to), r.headers["Location"]
    page = s.get(r.headers["Location"])
    assert page.status_code == 200
    return page.text


def flash_of(html):
    found = re.search(r'id="flash">([^<]*)', html)
    return found.group(1).strip() if found else None


def wait_for(check, timeout=10):
    end = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.2)


def ticket_for(rpc, customer, agent, **over):
    data = {"kind": "complaint", "severity": "high", "customer_id": customer["id"],
            "complainant_name": "吴先生", "complainant_contact": "13900002222",
            "channel": "phone", "subject": f"表单 {TAG}", "description": "模具尺寸不符。"}
    data.update(over)
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket(data)
        return p.service_desk.assign_ticket(t["id"], agent)


def resolved_ticket(rpc, customer):
    t = ticket_for(rpc, customer, AGENT)
    with rpc(AGENT_ACTOR) as p:
        return p.service_desk.resolve_ticket(t["id"], "已更换模具", "product_defect")


def status_badge(html):
    return re.search(r'<span id="status"><span class="badge[^"]*">([^<]+)</span>', html).group(1)


def timeline(html):
    return html.split('id="timeline"', 1)[1].split("</ol>", 1)[0]


# --- ticket page forms --------------------------------------------------------------
def test_reopen_form_reopens_the_ticket(base, config, customer, rpc):
    t = resolved_ticket(rpc, customer)
    assert t["status"] == "resolved"
    s = web(base, config, AGENT)
    page = s.get(f"/app/tickets/{t['id']}")
    assert page.status_code == 200 and 'id="form-reopen"' in page.text
    assert f'action="/app/tickets/{t["id"]}/reopen"' in page.text
    assert status_badge(page.text) == "已解决"
    token = csrf_of(page.text)
    # no reason: refused next to the field, nothing changed
    bad = s.post(f"/app/tickets/{t['id']}/reopen", data={"csrf_token": token, "reason": " "})
    assert bad.status_code == 422 and '<a href="#f-reason"' in bad.text
    with rpc(MANAGER) as p:
        assert p.service_desk.get_ticket(t["id"])["status"] == "resolved"
    reason = f"客户反馈问题复现 {TAG}"
    r = s.post(f"/app/tickets/{t['id']}/reopen", data={"csrf_token": token, "reason": reason})
    html = follow(s, r, f"/app/tickets/{t['id']}")
    with rpc(MANAGER) as p:
        got = p.service_desk.get_ticket(t["id"])
    assert got["status"] == "in_progress" and got["reopen_count"] == 1
    assert got["root_cause"] is None and got["resolution"] is None
    last = got["entries"][-1]
    assert last["kind"] == "reopen" and last["text"] == reason and last["author_id"] == AGENT
    # the page: flash, status, the reopen entry with its reason, the working forms back
    assert flash_of(html) == "工单已重新打开"
    assert status_badge(html) == "处理中"
    entry = timeline(html).split('data-kind="reopen"', 1)[1].split("</li>", 1)[0]
    assert "重新打开" in entry and reason in entry
    assert 'id="form-respond"' in html and 'id="form-reopen"' not in html


def test_assign_form_moves_the_ticket_manager_only(base, config, customer, rpc):
    t = ticket_for(rpc, customer, AGENT)
    agent_page = web(base, config, AGENT).get(f"/app/tickets/{t['id']}").text
    assert 'id="form-assign"' not in agent_page  # staff have no assign form
    m = web(base, config, MANAGER["id"], "manager")
    page = m.get(f"/app/tickets/{t['id']}")
    assert page.status_code == 200 and 'id="form-assign"' in page.text
    form = page.text.split('id="form-assign"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{OTHER}"' in form
    assert f'<option value="{AGENT}" selected' in form  # the current assignee
    r = m.post(f"/app/tickets/{t['id']}/assign", data={"csrf_token": csrf_of(page.text),
                                                       "assignee_id": OTHER})
    html = follow(m, r, f"/app/tickets/{t['id']}")
    with rpc(MANAGER) as p:
        got = p.service_desk.get_ticket(t["id"])
    assert got["assignee_id"] == OTHER
    last = got["entries"][-1]
    assert last["kind"] == "assignment" and (last["from_assignee"], last["to_assignee"]) == (
        AGENT, OTHER)
    assert flash_of(html) == "已分派"
    entry = timeline(html).split('data-kind="assignment"')[-1].split("</li>", 1)[0]
    assert f"坐席{AGENT} → 坐席{OTHER}" in entry  # roster names, not ids
    form = html.split('id="form-assign"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{OTHER}" selected' in form
    # the new assignee works it; the old one no longer sees it
    assert 'id="form-respond"' in web(base, config, OTHER).get(f"/app/tickets/{t['id']}").text
    assert web(base, config, AGENT).get(f"/app/tickets/{t['id']}").status_code == 404
    # an unknown agent: refused next to the field, nothing changed
    page = m.get(f"/app/tickets/{t['id']}")
    bad = m.post(f"/app/tickets/{t['id']}/assign", data={"csrf_token": csrf_of(page.text),
                                                         "assignee_id": f"nobody-{TAG}"})
    assert bad.status_code == 422 and '<a href="#f-assignee_id"' in bad.text
    with rpc(MANAGER) as p:
        assert p.service_desk.get_ticket(t["id"])["assignee_id"] == OTHER


def test_survey_form_records_the_agents_survey(base, config, customer, rpc):
    t = resolved_ticket(rpc, customer)
    s = web(base, config, AGENT)
    page = s.get(f"/app/tickets/{t['id']}")
    assert 'id="form-survey"' in page.text and 'id="survey-score"' not in page.text
    token = csrf_of(page.text)
    bad = s.post(f"/app/tickets/{t['id']}/survey", data={"csrf_token": token, "score": "9",
                                                         "survey_comment": "x"})
    assert bad.status_code == 422 and '<a href="#f-score"' in bad.text
    from services.common.errors import NotFound
    with rpc(MANAGER) as p, pytest.raises(NotFound):
        p.service_desk.get_survey(t["id"])
    comment = f"换货及时，满意 {TAG}"
    r = s.post(f"/app/tickets/{t['id']}/survey", data={"csrf_token": token, "score": "4",
                                                       "survey_comment": comment})
    html = follow(s, r, f"/app/tickets/{t['id']}")
    with rpc(MANAGER) as p:
        got = p.service_desk.get_survey(t["id"])
    assert got["score"] == 4 and got["comment"] == comment
    assert got["recorded_by"] != "customer"
    assert flash_of(html) == "调查结果已记录"
    shown = html.split('id="survey-score">', 1)[1].split("</section>", 1)[0]
    assert "评分 4/5" in shown and AGENT in shown and comment in shown
    assert 'id="form-survey"' not in html and 'id="form-survey-link"' not in html


# --- care ---------------------------------------------------------------------------
def test_record_visit_form_completes_the_care_task(base, config, customer, rpc):
    expiry, reminder = "2071-08-20", "2071-05-20"
    with rpc(AGENT_ACTOR) as p:
        plan = p.service_desk.create_care_plan(customer["id"], "contract_expiry",
                                               expiry_date=expiry)
    assert plan["reminder_date"] == reminder
    with rpc(MANAGER) as p:  # what the timer does for that day
        assert p.service_desk.generate_care_tasks(reminder)["created"] >= 1
    with rpc(AGENT_ACTOR) as p:
        task = next(x for x in p.service_desk.due_care_tasks(reminder, False)["items"]
                    if x["plan_id"] == plan["id"])
    assert task["status"] == "due"
    tid = task["id"]
    s = web(base, config, AGENT)
    page = s.get("/app/care", params={"date": reminder})
    assert page.status_code == 200
    row = page.text.split(f'id="task-{tid}"', 1)[1].split("</tr>", 1)[0]
    assert f'action="/app/care/tasks/{tid}/visit"' in row and "待办" in row
    for name in (f"channel_{tid}", f"outcome_{tid}", f"satisfaction_{tid}"):
        assert f'name="{name}"' in row, name
    token = csrf_of(page.text)
    bad = s.post(f"/app/care/tasks/{tid}/visit", data={
        "csrf_token": token, "date": reminder, f"channel_{tid}": "phone",
        f"outcome_{tid}": "已联系", f"satisfaction_{tid}": "9"})
    assert bad.status_code == 422 and f'<a href="#f-satisfaction_{tid}"' in bad.text
    with rpc(AGENT_ACTOR) as p:
        still = next(x for x in p.service_desk.due_care_tasks(reminder, False)["items"]
                     if x["id"] == tid)
    assert still["status"] == "due"
    outcome = f"客户同意续约 {TAG}"
    r = s.post(f"/app/care/tasks/{tid}/visit", data={
        "csrf_token": token, "date": reminder, f"channel_{tid}": "wechat",
        f"outcome_{tid}": outcome, f"satisfaction_{tid}": "5"})
    html = follow(s, r, f"/app/care?date={reminder}")
    with rpc(AGENT_ACTOR) as p:
        done = next(x for x in p.service_desk.due_care_tasks(reminder, False)["items"]
                    if x["id"] == tid)
    assert done["status"] == "done" and done["channel"] == "wechat"
    assert done["outcome"] == outcome and done["satisfaction"] == 5
    assert done["visitor_id"] == AGENT
    assert flash_of(html) == "回访已记录"
    row = html.split(f'id="task-{tid}"', 1)[1].split("</tr>", 1)[0]
    assert "已完成" in row and "微信" in row and "5/5" in row and outcome in row
    assert "/visit" not in row  # no form left for a done task


def test_care_plan_form_creates_the_plan(base, config, customer, rpc):
    s = web(base, config, AGENT)
    # the desk's own copy of the customer comes by event: the picker finds it by name
    page = wait_for(lambda: (lambda r: r if f'value="{customer["id"]}"' in r.text else None)(
        s.get("/app/care/plans", params={"customer_q": customer["name"]})))
    assert page is not None and page.status_code == 200
    form = page.text.split('id="plan-form"', 1)[1].split("</form>", 1)[0]
    assert f'name="customer_id" value="{customer["id"]}"' in form
    token = csrf_of(page.text)
    # no customer picked: refused at the field, nothing written
    bad = s.post("/app/care/plans", data={"csrf_token": token, "kind": "contract_expiry",
                                          "expiry_date": "2072-05-20"})
    assert bad.status_code == 422 and 'class="field field--error" id="f-customer_id"' in bad.text
    with rpc(AGENT_ACTOR) as p:
        before = p.service_desk.list_care_plans(customer["id"])["items"]
    assert not [x for x in before if x.get("expiry_date") == "2072-05-20"]
    note = f"续约前提醒 {TAG}"
    r = s.post("/app/care/plans", data={
        "csrf_token": token, "customer_id": str(customer["id"]), "kind": "contract_expiry",
        "start_date": "", "expiry_date": "2072-05-20", "interval_days": "", "note": note})
    html = follow(s, r, "/app/care/plans")
    with rpc(AGENT_ACTOR) as p:
        plans = [x for x in p.service_desk.list_care_plans(customer["id"])["items"]
                 if x.get("expiry_date") == "2072-05-20"]
    assert len(plans) == 1
    plan = plans[0]
    assert plan["kind"] == "contract_expiry" and plan["reminder_date"] == "2072-02-20"
    assert plan["assignee_id"] == AGENT and plan["active"] and plan["note"] == note
    assert flash_of(html) == "关怀计划已保存"
    row = html.split(f'id="plan-{plan["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert customer["name"] in row and "合同到期" in row
    assert "2072-05-20 到期，2072-02-20 提醒" in row and f"<td>{AGENT}</td>" in row


# --- FAQ top hits -------------------------------------------------------------------
def test_faq_admin_top_hits_follow_public_searches(base, config, rpc):
    word = f"kw{TAG}"
    with rpc(MANAGER) as p:
        sd = p.service_desk
        most = sd.create_faq({"question": f"怎样查询物流{TAG}", "answer": "在订单页查看。",
                              "category": "物流", "keywords": word})
        less = sd.create_faq({"question": f"怎样修改发票{TAG}", "answer": "联系客服修改。",
                              "category": "发票", "keywords": f"other{TAG}"})
        draft = sd.create_faq({"question": f"草稿问题{TAG}", "answer": "未发布",
                               "category": "物流", "keywords": word})
        sd.publish_faq(most["id"])
        sd.publish_faq(less["id"])
        busiest = max((f["hits"] for f in sd.top_faq(10, None)), default=0)
    anon = WebSession(base)
    n = busiest + 2  # more than any entry so far: first in the list
    for _ in range(n):
        r = anon.get("/app/public/faq", params={"q": word})
        assert r.status_code == 200 and f"怎样查询物流{TAG}" in r.text
        assert f"草稿问题{TAG}" not in r.text
    r = anon.get("/app/public/faq", params={"q": f"other{TAG}"})
    assert f"怎样修改发票{TAG}" in r.text
    with rpc(MANAGER) as p:
        assert p.service_desk.get_faq(most["id"])["hits"] == n
        assert p.service_desk.get_faq(less["id"])["hits"] == 1
        assert p.service_desk.get_faq(draft["id"])["hits"] == 0
        top = p.service_desk.top_faq(10, None)
    assert top[0]["id"] == most["id"]
    page = web(base, config, AGENT).get("/app/faq")
    assert page.status_code == 200
    hits = page.text.split('id="top-hits">', 1)[1].split("</ol>", 1)[0]
    items = re.findall(r"<li>(.*?)</li>", hits, re.S)
    assert items[0] == f"怎样查询物流{TAG} <small>{n} 次</small>"
    assert f"怎样修改发票{TAG} <small>1 次</small>" in items
    assert f"草稿问题{TAG}" not in hits
    # the entries' own rows carry the same counts
    row = page.text.split(f'id="faq-{most["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert f'<td class="num">{n}</td>' in row

