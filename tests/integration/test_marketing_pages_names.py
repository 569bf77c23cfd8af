"""What a marketer reads on the campaign pages (found in the issue-19 acceptance walk):
owners by name, not ``mk1``; a milestone due today is badged 今天到期 (it read
截止日期, the column's header); participants numbered 1, 2, … in the table, not by
their internal ids."""
import datetime as dt
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
MANAGER = actor(f"mkm-{TAG}", "manager", "management")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(MarketingGateway, CustomersService, MarketingService)


def test_owner_names_milestone_due_today_and_participant_numbers(base, config, rpc):
    today = dt.datetime.now(ZoneInfo(config.get("CRM_TIMEZONE") or "Asia/Shanghai")).date()
    with rpc(MANAGER) as p:
        mk = p.marketing
        # another campaign's participants first: this one's internal ids do not start at 1
        other = mk.create_campaign({"theme": f"先来的 {TAG}", "format": "online",
                                    "starts_at": "2027-03-01T06:00:00+00:00",
                                    "ends_at": "2027-03-01T09:00:00+00:00"})
        mk.schedule_campaign(other["id"])
        for i in range(3):
            mk.register_participant(other["id"], {"contact": {
                "name": f"先来{i}", "company": f"{TAG}先来{i}", "mobile": f"1381234567{i}"}})
        camp = mk.create_campaign({
            "theme": f"名字与节点 {TAG}", "format": "online", "owner_id": "mk2",
            "starts_at": "2027-03-01T06:00:00+00:00", "ends_at": "2027-03-01T09:00:00+00:00",
            "milestones": [{"title": f"今天交 {TAG}", "owner_id": "mk1",
                            "due_date": today.isoformat()},
                           {"title": f"以后交 {TAG}", "owner_id": "mk2",
                            "due_date": (today + dt.timedelta(days=30)).isoformat()}]})
        mk.schedule_campaign(camp["id"])
        for i in range(2):
            mk.register_participant(camp["id"], {"contact": {
                "name": f"参会人{i}", "company": f"{TAG}公司{i}", "mobile": f"1391234567{i}"}})
    s = WebSession(base, config, MANAGER["id"], "manager", "management")
    page = s.get(f"/app/campaigns/{camp['id']}").text
    summary = page.split('class="camp-top"', 1)[1].split('id="lifecycle"', 1)[0]
    assert "黄丽" in summary and ">mk2<" not in summary
    milestones = page.split('id="milestone-table"', 1)[1].split("</table>", 1)[0]
    due = next(r for r in milestones.split("<tr")[1:] if f"今天交 {TAG}" in r)
    assert 'data-status="due"' in due and "今天到期" in due and "截止日期" not in due
    assert "<td>赵磊</td>" in due
    later = next(r for r in milestones.split("<tr")[1:] if f"以后交 {TAG}" in r)
    assert "未到期" in later
    people = page.split('id="participant-table"', 1)[1].split("</tbody>", 1)[0]
    numbers = [cell.split("</td>", 1)[0].strip() for cell in people.split("<td>")[1:]
               if cell.split("</td>", 1)[0].strip().isdigit()]
    assert numbers == ["1", "2"]
    listing = s.get("/app/campaigns", params={"q": TAG}).text
    row = next(r for r in listing.split("<tr")[1:] if f"名字与节点 {TAG}" in r)
    assert "<td>黄丽</td>" in row and "<td>mk2</td>" not in row


def test_complete_takes_the_actual_cost_for_the_roi(base, config, rpc):
    """The actual cost cannot change once a campaign is over and the ROI needs it: the
    complete button comes with the cost box (it used to complete at 0, ROI "—" for good)."""
    with rpc(MANAGER) as p:
        camp = p.marketing.create_campaign({
            "theme": f"结束带费用 {TAG}", "format": "online",
            "starts_at": "2027-03-01T06:00:00+00:00", "ends_at": "2027-03-01T09:00:00+00:00"})
        p.marketing.schedule_campaign(camp["id"])
        p.marketing.launch_campaign(camp["id"])
    s = WebSession(base, config, MANAGER["id"], "manager", "management")
    path = f"/app/campaigns/{camp['id']}"
    page = s.get(path).text
    form = page.split('id="form-complete"', 1)[1].split("</form>", 1)[0]
    assert 'name="cost"' in form and "投资回报率" in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    bad = s.post(f"{path}/complete", data={"csrf_token": token, "cost": "很多钱"})
    assert bad.status_code == 422 and '<a href="#f-cost"' in bad.text
    with rpc(MANAGER) as p:
        assert p.marketing.get_campaign(camp["id"])["state"] == "running"  # nothing written
    ok = s.post(f"{path}/complete", data={"csrf_token": token, "cost": "20000"})
    assert ok.status_code == 303
    with rpc(MANAGER) as p:
        got = p.marketing.get_campaign(camp["id"])
        assert got["state"] == "completed" and Decimal(got["cost"]) == Decimal("20000")
        assert p.marketing.evaluate_campaign(camp["id"])["roi"] == -1.0  # (0 − 20000) / 20000
