"""Pagers of the sales and service desk workspaces when a list's total is an estimate
(issue 20: above ``paging.TOTAL_EXACT_UP_TO`` matches): the count reads "约 N 条" and
the page links go only as far as ``next_cursor`` says rows follow — never "page 1 of
<total / page size>" computed from the estimate. More rows than the threshold are
written straight into the services' tables for one fresh owner."""
import datetime as dt
import re
import uuid

import pytest

from services.common import paging
from services.common.db import make_engine
from services.customers.service import CustomersService
from services.marketing.gateway import MarketingGateway
from services.marketing.models import Participant
from services.marketing.service import MarketingService
from services.sales.gateway import SalesGateway
from services.sales.models import Lead
from services.sales.service import SalesService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.models import Ticket
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
ROWS = paging.TOTAL_EXACT_UP_TO + 60
TAG = uuid.uuid4().hex[:6]
PAGER = re.compile(r'<nav class="pager".*?</nav>', re.S)


def _insert(config, service, table, rows):
    eng = make_engine(config["DB_URIS"][service], pool_size=1)
    try:
        with eng.begin() as conn:
            conn.execute(table.insert(), rows)
    finally:
        eng.dispose()


def _pager(html):
    found = PAGER.search(html)
    assert found, html[-1500:]
    return found.group(0)


def test_sales_leads_with_an_estimated_total(module_gateway, config):
    base = module_gateway(SalesGateway, SalesService)
    owner = f"pe-{TAG}"
    now = dt.datetime.now(dt.timezone.utc)
    _insert(config, "sales", Lead.__table__, [
        {"source": "website", "status": "new", "customer_name": f"估算公司{i}",
         "owner_id": owner, "created_at": now, "updated_at": now} for i in range(ROWS)])
    web = WebSession(base, config, owner, "staff", "sales")
    r = web.get("/app/leads")
    assert r.status_code == 200, r.text[-2000:]
    count = re.search(r'<small class="count" id="total">([^<]*)</small>', r.text).group(1)
    assert count.startswith("约 ") and count.endswith(" 条"), count
    pager = _pager(r.text)
    assert "共 " not in pager  # the kit's exact "共 N 条" is not shown for an estimate
    assert "第 1 / 2 页" in pager and 'rel="next"' in pager and "page=2" in pager
    # the last page (by number) has no next link and says it is the last one
    last = -(-ROWS // 20)
    pager = _pager(web.get(f"/app/leads?page={last}").text)
    assert 'rel="next"' not in pager and f"第 {last} / {last} 页" in pager
    # the English wording
    r = web.get("/app/leads?lang=en")
    count = re.search(r'<small class="count" id="total">([^<]*)</small>', r.text).group(1)
    assert count.startswith("about "), count


def test_service_queue_with_an_estimated_total(module_gateway, config):
    base = module_gateway(ServiceDeskGateway, ServiceDeskService)
    agent = f"pq-{TAG}"
    opened = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    _insert(config, "service_desk", Ticket.__table__, [
        {"kind": "inquiry", "severity": "medium", "status": "open",
         "complainant_name": "王女士", "channel": "phone", "subject": f"估算{i}",
         "description": "设备报警", "assignee_id": agent, "opened_by": agent,
         "opened_at": opened, "first_response_due_at": opened + dt.timedelta(hours=8),
         "resolution_due_at": opened + dt.timedelta(hours=72),
         "next_due_at": opened + dt.timedelta(hours=8, seconds=i), "reopen_count": 0,
         "updated_at": opened, "version": 1} for i in range(ROWS)])
    web = WebSession(base, config, agent, "staff", "service")
    r = web.get("/app/tickets")
    assert r.status_code == 200, r.text[-2000:]
    count = re.search(r'<small class="count" id="total">([^<]*)</small>', r.text).group(1)
    assert count.startswith("约 ") and count.endswith(" 条"), count
    pager = _pager(r.text)
    assert "cursor=" in pager and 'rel="next"' in pager and "page=" not in pager


def test_campaign_participants_count_with_an_estimated_total(module_gateway, config, rpc):
    base = module_gateway(MarketingGateway, CustomersService, MarketingService)
    owner = actor(f"pm-{TAG}", "staff", "marketing")
    with rpc(owner) as p:
        camp = p.marketing.create_campaign({
            "theme": f"估算活动 {TAG}", "format": "online",
            "starts_at": "2027-03-01T06:00:00+00:00", "ends_at": "2027-03-01T09:00:00+00:00",
            "audience": {"tags_any": [f"t{TAG}"]}})
    _insert(config, "marketing", Participant.__table__, [
        {"campaign_id": camp["id"], "kind": "contact", "contact_name": f"参会人{i}",
         "segment": "normal"} for i in range(ROWS)])
    web = WebSession(base, config, owner["id"], "staff", "marketing")
    r = web.get(f"/app/campaigns/{camp['id']}")
    assert r.status_code == 200, r.text[-2000:]
    count = re.search(r'<h2 id="participants">[^<]*<small class="count">([^<]*)</small>',
                      r.text).group(1)
    assert count.startswith("约 ") and count.endswith(" 条"), count
