"""The marketing workspace's page forms and downloads over HTTP (issue 19 audit:
proven only over RPC until now), on the real gateway, services, broker and DB: a
signed-in session reads the CSRF token from the campaign page, posts the form,
follows the redirect, and the change is checked over RPC and on the page. The
cancel form; a milestone due in the past and not done badged late (已逾期) on the
campaign page and counted on the list; the participants.xlsx and evaluation.csv
exports hold what the campaign holds."""
import csv
import datetime as dt
import io
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from services.common.cli.demo import demo_customers
from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.page_export import EVALUATION_KEYS, PARTICIPANT_COLUMNS
from services.marketing.service import MarketingService
from tests.support.fixtures import actor
from tests.support.web_session import WebSession, csrf_of

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
MARKETER = actor(f"mkf-{TAG}", "staff", "marketing")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(MarketingGateway, CustomersService, MarketingService)


@pytest.fixture(scope="module")
def customer(base, config):
    from services.common.cli.rpc_client import cluster
    data = next(demo_customers(1, ["u1"], seed=uuid.uuid4().int % 10**9))
    data.update(name=f"常州{TAG}机电有限公司", tags=[f"t{TAG}"])
    with cluster(config) as p:
        return p.customers.create_customer(data)


def campaign_data(**over):
    data = {"theme": f"表单活动 {TAG}", "format": "online",
            "starts_at": "2027-04-01T06:00:00+00:00", "ends_at": "2027-04-01T09:00:00+00:00",
            "audience": {"tags_any": [f"t{TAG}"]}}
    data.update(over)
    return data


def web(base, config):
    return WebSession(base, config, MARKETER["id"], "staff", "marketing")


def follow(s, r, to):
    """The form's answer: 303 to ``to``; the page it leads to (with the flash)."""
    assert r.status_code == 303, (r.status_code, r.text[:600])
    location = r.headers["Location"]
    assert location.split("#", 1)[0].endswith(to), location
    page = s.get(location.split("#", 1)[0])
    assert page.status_code == 200
    return page.text


def flash_of(html):
    found = re.search(r'id="flash">([^<]*)', html)
    return found.group(1).strip() if found else None


def state_badge(html):
    return re.search(r'<span id="state"><span class="badge[^"]*">([^<]+)</span>', html).group(1)


def milestone_row(html, title):
    table = html.split('id="milestone-table"', 1)[1].split("</table>", 1)[0]
    return next(r for r in table.split("<tr")[1:] if title in r)


def test_cancel_form_cancels_the_campaign(base, config, rpc):
    with rpc(MARKETER) as p:
        camp = p.marketing.create_campaign(campaign_data(theme=f"将取消 {TAG}"))
        p.marketing.schedule_campaign(camp["id"])
    cid = camp["id"]
    s = web(base, config)
    page = s.get(f"/app/campaigns/{cid}")
    assert page.status_code == 200 and 'id="form-cancel"' in page.text
    assert state_badge(page.text) == "已排期"
    token = csrf_of(page.text)
    # no reason: refused next to the field, still scheduled
    bad = s.post(f"/app/campaigns/{cid}/cancel", data={"csrf_token": token, "reason": " "})
    assert bad.status_code == 422 and '<a href="#f-reason"' in bad.text
    with rpc(MARKETER) as p:
        assert p.marketing.get_campaign(cid)["state"] == "scheduled"
    reason = f"场地临时关闭 {TAG}"
    r = s.post(f"/app/campaigns/{cid}/cancel", data={"csrf_token": token, "reason": reason})
    html = follow(s, r, f"/app/campaigns/{cid}")
    with rpc(MARKETER) as p:
        got = p.marketing.get_campaign(cid)
    assert got["state"] == "cancelled" and got["cancel_reason"] == reason
    assert got["cancelled_at"]
    assert flash_of(html) == "活动已取消"
    assert state_badge(html) == "已取消"
    assert f"取消原因：{reason}" in html
    steps = html.split('id="steps"', 1)[1].split("</ol>", 1)[0]
    assert "已取消" in steps
    for gone in ('id="form-cancel"', f'/app/campaigns/{cid}/launch', 'id="form-milestone"',
                 'id="register"'):
        assert gone not in html, gone
    listing = s.get("/app/campaigns", params={"state": "cancelled", "q": TAG}).text
    assert f'id="campaign-{cid}"' in listing


def test_milestone_due_in_the_past_is_badged_late(base, config, rpc):
    today = dt.datetime.now(ZoneInfo(config.get("CRM_TIMEZONE") or "Asia/Shanghai")).date()
    past = (today - dt.timedelta(days=3)).isoformat()
    later = (today + dt.timedelta(days=20)).isoformat()
    with rpc(MARKETER) as p:
        camp = p.marketing.create_campaign(campaign_data(
            theme=f"节点逾期 {TAG}", milestones=[{"title": f"以后交 {TAG}",
                                                 "owner_id": MARKETER["id"], "due_date": later}]))
    cid = camp["id"]
    s = web(base, config)
    page = s.get(f"/app/campaigns/{cid}")
    assert 'id="form-milestone"' in page.text
    assert 'data-status="late"' not in page.text
    title = f"寄出邀请函 {TAG}"
    r = s.post(f"/app/campaigns/{cid}/milestones", data={
        "csrf_token": csrf_of(page.text), "milestone.title": title,
        "milestone.owner_id": MARKETER["id"], "milestone.due_date": past})
    html = follow(s, r, f"/app/campaigns/{cid}")
    with rpc(MARKETER) as p:
        got = p.marketing.get_campaign(cid)
    late = next(m for m in got["milestones"] if m["title"] == title)
    assert late["status"] == "overdue" and late["due_date"] == past
    assert late["completed_at"] is None
    assert got["milestones_overdue"] == 1
    assert flash_of(html) == "节点已添加"
    row = milestone_row(html, title)
    assert 'class="row-late" data-status="late"' in row
    assert '<span class="badge badge--danger">已逾期</span>' in row and f"<td>{past}</td>" in row
    assert "未到期" in milestone_row(html, f"以后交 {TAG}")
    listing = s.get("/app/campaigns", params={"q": f"节点逾期 {TAG}"}).text
    list_row = listing.split(f'id="campaign-{cid}"', 1)[1].split("</tr>", 1)[0]
    assert "1 项逾期" in list_row and 'class="row-late"' in listing
    # done: no longer late
    done_url = f"/app/campaigns/{cid}/milestones/{late['id']}/done"
    assert f'action="{done_url}"' in row
    r = s.post(done_url, data={"csrf_token": csrf_of(html)})
    html = follow(s, r, f"/app/campaigns/{cid}")
    with rpc(MARKETER) as p:
        got = p.marketing.get_campaign(cid)
    assert got["milestones_overdue"] == 0
    assert next(m for m in got["milestones"] if m["id"] == late["id"])["status"] == "done"
    row = milestone_row(html, title)
    assert 'data-status="done"' in row and "已逾期" not in row and "已完成" in row


def test_participants_xlsx_and_evaluation_csv_hold_the_campaign(base, config, customer, rpc):
    with rpc(MARKETER) as p:
        mk = p.marketing
        camp = mk.create_campaign(campaign_data(theme=f"导出核对 {TAG}", budget="5000.00"))
        cid = camp["id"]
        mk.schedule_campaign(cid)
        mk.launch_campaign(cid)
        first = mk.register_participant(cid, {"customer_id": customer["id"],
                                              "need": "了解新品"})
        second = mk.register_participant(cid, {"contact": {
            "name": "韩梅梅", "company": f"扬州{TAG}贸易", "mobile": "13712345678",
            "email": f"hmm{TAG}@example.com"}})
        mk.check_in(cid, first["id"])
        mk.record_feedback(cid, first["id"], 4, "内容实用")
        participants = mk.list_participants(cid, 1, 100)["items"]
        evaluation = mk.evaluate_campaign(cid)
    assert [x["id"] for x in participants] == [first["id"], second["id"]]
    assert evaluation["participants"] == 2 and evaluation["attended"] == 1
    s = web(base, config)
    page = s.get(f"/app/campaigns/{cid}").text
    assert f'href="/app/campaigns/{cid}/participants.xlsx"' in page
    assert f'href="/app/campaigns/{cid}/evaluation.csv"' in page

    r = s.get(f"/app/campaigns/{cid}/participants.xlsx")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["Content-Type"]
    assert f'filename="campaign-{cid}-participants.xlsx"' in r.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0] == PARTICIPANT_COLUMNS
    got = [dict(zip(PARTICIPANT_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert len(got) == 2
    for row, want in zip(got, participants, strict=True):
        assert row["id"] == want["id"] and row["kind"] == want["kind"]
        for key in ("company", "contact_name", "mobile", "email", "segment", "registered_at"):
            assert (row[key] or None) == want[key], key
        assert row["attended"] is want["attended"]
        assert row["lead_generated"] is want["lead_generated"]
    assert got[0]["customer_id"] == customer["id"] and got[0]["company"] == customer["name"]
    assert got[0]["attended"] is True and got[0]["feedback_score"] == 4
    assert got[1]["company"] == f"扬州{TAG}贸易" and got[1]["contact_name"] == "韩梅梅"
    assert got[1]["mobile"] == "13712345678"  # the owner's export: in clear
    assert got[1]["attended"] is False and got[1]["feedback_score"] in ("", None)

    r = s.get(f"/app/campaigns/{cid}/evaluation.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert f'filename="campaign-{cid}-evaluation.csv"' in r.headers["Content-Disposition"]
    assert r.content.startswith("\ufeff".encode())  # BOM: Excel reads the Chinese labels
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == ["key", "label", "value"]
    assert [row[0] for row in table[1:]] == list(EVALUATION_KEYS)
    values = {row[0]: row[2] for row in table[1:]}
    labels = {row[0]: row[1] for row in table[1:]}
    for key in EVALUATION_KEYS:
        want = evaluation.get(key)
        assert values[key] == ("" if want is None else str(want)), key
    assert values["participants"] == "2" and values["attended"] == "1"
    assert values["attendance_rate"] == str(evaluation["attendance_rate"])
    assert float(values["attendance_rate"]) == 0.5 and float(values["feedback_average"]) == 4
    assert float(values["budget"]) == 5000
    assert labels["participants"] == "参与人数" and labels["attended"] == "签到人数"


def test_feedback_form_refuses_a_bad_score_next_to_the_field(base, config, customer, rpc):
    """A score out of 1-5 is a 422 page with the message next to that participant's
    score (it was a 500: the page's error path called _errors without the context)."""
    with rpc(MARKETER) as p:
        mk = p.marketing
        cid = mk.create_campaign(campaign_data(theme=f"反馈校验 {TAG}"))["id"]
        mk.schedule_campaign(cid)
        mk.launch_campaign(cid)
        pid = mk.register_participant(cid, {"customer_id": customer["id"]})["id"]
        mk.check_in(cid, pid)
    s = web(base, config)
    token = csrf_of(s.get(f"/app/campaigns/{cid}").text)
    r = s.post(f"/app/campaigns/{cid}/participants/{pid}/feedback",
               data={"csrf_token": token, f"score_{pid}": "9", f"comment_{pid}": "很好"})
    assert r.status_code == 422, (r.status_code, r.text[-800:])
    assert f'<a href="#f-score_{pid}"' in r.text and "Traceback" not in r.text
    with rpc(MARKETER) as p:
        got = next(x for x in p.marketing.list_participants(cid, 1, 100)["items"]
                   if x["id"] == pid)
    assert got["feedback"] == []  # nothing written
    r = s.post(f"/app/campaigns/{cid}/participants/{pid}/feedback",
               data={"csrf_token": token, f"score_{pid}": "5", f"comment_{pid}": "很好"})
    follow(s, r, f"/app/campaigns/{cid}")
    with rpc(MARKETER) as p:
        got = next(x for x in p.marketing.list_participants(cid, 1, 100)["items"]
                   if x["id"] == pid)
    assert [(f["score"], f["comment"]) for f in got["feedback"]] == [(5, "很好")]
