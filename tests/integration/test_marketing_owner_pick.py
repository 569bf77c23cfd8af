"""Owners picked by name on the campaign pages (issue 19 walk: the campaign form's
owner, its milestone rows and the add-milestone form were boxes to type ``mk1`` into):
lists of names from the directory that still post the id; an id nobody listed is a 422
next to its field with nothing written; staff own only their campaigns (their list is
themselves) and still save their own campaign unchanged. Real headless Chromium picks
by name; screenshots var/screenshots/."""
import re
import uuid

import pytest
from selenium.webdriver.support.ui import Select

from services.marketing.gateway import MarketingGateway
from services.marketing.service import MarketingService
from tests.support.browser import body, browser, by_id, fill, screenshot, sign_in, wait_for  # noqa: F401,E501
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
MANAGER = actor(f"op-m-{TAG}", "manager", "management")
MARKETER = actor(f"op-k-{TAG}", "staff", "marketing")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# the demo directory's marketing people (README: mk1 赵磊, mk2 黄丽) and manager m1 周经理
NAMES = {"mk1": "赵磊", "mk2": "黄丽", "m1": "周经理"}


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(MarketingGateway, MarketingService)


def options(html, select_id):
    block = html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', block))


def field_block(html, fid):
    return html[:html.index(f'id="{fid}"')].rsplit('<div class="field', 1)[-1]


def new_form(theme, **over):
    data = {"theme": theme, "format": "online", "starts_at": "2027-05-01T14:00",
            "ends_at": "2027-05-01T17:00", "owner_id": "mk2", "milestone_rows": "2",
            "milestones.0.title": "发邀请", "milestones.0.owner_id": "mk1",
            "milestones.0.due_date": "2027-04-20"}
    data.update(over)
    return data


def found(rpc, theme):
    with rpc(MANAGER) as p:
        return p.marketing.list_campaigns({"q": theme})["items"]


def test_manager_picks_owners_by_name_bad_ids_refused(base, config, rpc):
    s = WebSession(base, config, MANAGER["id"], "manager", "management")
    page = s.get("/app/campaigns/new").text
    csrf = CSRF.search(page).group(1)
    owners, rows = options(page, "f-owner_id"), options(page, "f-milestones-0-owner_id")
    for uid, name in NAMES.items():
        assert owners.get(uid) == name and rows.get(uid) == name
    assert '<input id="f-owner_id"' not in page
    for field, over in (("f-owner_id", {"owner_id": "nobody"}),
                        ("f-milestones-0-owner_id", {"milestones.0.owner_id": "zz9"})):
        theme = f"乱填负责人 {TAG} {field}"
        bad = s.post("/app/campaigns/new", data=dict(new_form(theme, **over), csrf_token=csrf))
        assert bad.status_code == 422 and f'<a href="#{field}"' in bad.text
        assert "请从列表中选择负责人。" in field_block(bad.text, field)
        assert found(rpc, theme) == []  # nothing written
    theme = f"按名字选 {TAG}"
    ok = s.post("/app/campaigns/new", data=dict(new_form(theme), csrf_token=csrf))
    assert ok.status_code == 303, ok.text[:500]
    camp = found(rpc, theme)[0]
    with rpc(MANAGER) as p:
        got = p.marketing.get_campaign(camp["id"])
    assert got["owner_id"] == "mk2" and [m["owner_id"] for m in got["milestones"]] == ["mk1"]
    # the add-milestone form: names; a bad id refused next to it
    path = f"/app/campaigns/{camp['id']}"
    page = s.get(path).text
    assert options(page, "f-milestone-owner_id").get("mk2") == "黄丽"
    data = {"csrf_token": csrf, "milestone.title": f"订场地 {TAG}",
            "milestone.due_date": "2027-04-25"}
    bad = s.post(f"{path}/milestones", data=dict(data, **{"milestone.owner_id": "ghost"}))
    assert bad.status_code == 422 and '<a href="#f-milestone-owner_id"' in bad.text
    assert "请从列表中选择负责人。" in field_block(bad.text, "f-milestone-owner_id")
    with rpc(MANAGER) as p:
        assert len(p.marketing.get_campaign(camp["id"])["milestones"]) == 1
    ok = s.post(f"{path}/milestones", data=dict(data, **{"milestone.owner_id": "mk2"}))
    assert ok.status_code == 303
    with rpc(MANAGER) as p:
        assert [m["owner_id"] for m in p.marketing.get_campaign(camp["id"])["milestones"]] \
            == ["mk1", "mk2"]


def test_staff_own_their_campaigns_and_save_them_unchanged(base, config, rpc):
    s = WebSession(base, config, MARKETER["id"], "staff", "marketing")
    page = s.get("/app/campaigns/new").text
    csrf = CSRF.search(page).group(1)
    assert list(options(page, "f-owner_id")) == [MARKETER["id"]]
    theme = f"员工自己的 {TAG}"
    bad = s.post("/app/campaigns/new",
                 data=dict(new_form(theme, owner_id="mk1"), csrf_token=csrf))
    assert bad.status_code == 422 and found(rpc, theme) == []
    ok = s.post("/app/campaigns/new",
                data=dict(new_form(theme, owner_id=MARKETER["id"]), csrf_token=csrf))
    assert ok.status_code == 303
    camp = found(rpc, theme)[0]
    edit = s.get(f"/app/campaigns/{camp['id']}/edit").text
    assert list(options(edit, "f-owner_id")) == [MARKETER["id"]]
    form = dict(re.findall(r'<input id="f-([\w-]+)" name="([^"]+)"', edit))
    assert "owner_id" not in form.values()
    saved = s.post(f"/app/campaigns/{camp['id']}/edit", data={
        "csrf_token": csrf, "version": "1", "theme": theme + " 改", "format": "online",
        "starts_at": "2027-05-01T14:00", "ends_at": "2027-05-01T17:00",
        "owner_id": MARKETER["id"]})
    assert saved.status_code == 303, saved.text[:600]
    with rpc(MANAGER) as p:
        got = p.marketing.get_campaign(camp["id"])
    assert got["theme"] == theme + " 改" and got["owner_id"] == MARKETER["id"]


def test_pick_owners_by_name_in_the_browser(base, browser, config, rpc):  # noqa: F811
    sign_in(browser, base, config, MANAGER["id"], "manager", "management")
    browser.get(f"{base}/app/campaigns/new")
    theme = f"浏览器选人 {TAG}"
    fill(browser, {"f-theme": theme, "f-milestones-0-title": "发邀请"})
    for fid, value in (("f-starts_at", "2027-06-01T14:00"), ("f-ends_at", "2027-06-01T17:00"),
                       ("f-milestones-0-due_date", "2027-05-20")):
        browser.execute_script("arguments[0].value = arguments[1]", by_id(browser, fid), value)
    Select(by_id(browser, "f-owner_id")).select_by_visible_text("黄丽")
    Select(by_id(browser, "f-milestones-0-owner_id")).select_by_visible_text("赵磊")
    screenshot(browser, "marketing-form-owner-by-name")
    by_id(browser, "save-campaign").click()
    wait_for(browser, lambda d: "活动已创建" in body(d))
    assert "黄丽" in body(browser)
    Select(by_id(browser, "f-milestone-owner_id")).select_by_visible_text("黄丽")
    screenshot(browser, "marketing-campaign-milestone-owner")
    camp = found(rpc, theme)[0]
    with rpc(MANAGER) as p:
        got = p.marketing.get_campaign(camp["id"])
    assert got["owner_id"] == "mk2" and got["milestones"][0]["owner_id"] == "mk1"
