"""The kit's hooks on real gateways and a real broker: header badges (the sales
workspace's follow-ups due; a badge whose RPC fails or never answers leaves the
page as it is, after the short timeout), ``/go/<service>?to=/app/...`` into
another workspace (local /app paths only), and the security headers (CSP) of
every page while JSON answers stay as they were."""
import datetime as dt
import os
import time
import uuid

import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.common.gateway import GatewayBase, rpc
from services.common.web import page, render
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.fixtures import actor, free_port
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SLOW_SERVICE = "kit_badge_slowpoke"  # a queue on the bus nobody consumes


class BadgeProbeGateway(GatewayBase):
    """Badges by who is signed in: 'ok-*' two, 'slow-*' from an RPC nobody answers,
    'gone-*' from a service that does not exist."""

    name = "badge_probe_gateway"
    slow = rpc(SLOW_SERVICE)
    gone = rpc("kit_badge_no_such_service")

    def header_badges(self, actor):
        who = actor["id"]
        if who.startswith("slow-"):
            return [{"label": "x", "count": self.call(self.slow, "count"), "href": "/app"}]
        if who.startswith("gone-"):
            return [{"label": "x", "count": self.call(self.gone, "count"), "href": "/app"}]
        return [{"label": "nav.api_docs", "count": 2, "href": "/app/probe", "id": "probe-badge"}]

    @page("GET", "/app/probe")
    def probe(self, request):
        return render("kit/home.html", page_title="probe")


@pytest.fixture(scope="module")
def slow_queue(config):
    """An RPC queue with no consumer: a call to it waits until its caller gives up."""
    exchange = Exchange("nameko-rpc", type="topic", durable=True)
    queue = Queue(f"rpc-{SLOW_SERVICE}", exchange, routing_key=f"{SLOW_SERVICE}.*",
                  durable=False, auto_delete=False)
    with Connection(config["AMQP_URI"]) as conn:
        queue(conn.channel()).declare()
    yield
    with Connection(config["AMQP_URI"]) as conn:
        queue(conn.channel()).delete()


@pytest.fixture(scope="module")
def bases(module_services, slow_queue):
    module_services(CustomersService, SalesService)
    out = {}
    for cls, extra in ((CustomersGateway, {}), (SalesGateway, {}),
                       (BadgeProbeGateway, {"HEADER_BADGE_TIMEOUT": 0.5})):
        port = free_port()
        module_services(cls, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", **extra)
        out[cls.name] = f"http://127.0.0.1:{port}"
    return out


def session_for(base, config, user, role="staff", department="sales"):
    return Browserless(base, config, user, role, department)


# --- header badges ---------------------------------------------------------------------------
def test_badges_next_to_the_user_and_failures_swallowed(bases, config):
    base = bases["badge_probe_gateway"]
    r = session_for(base, config, f"ok-{uuid.uuid4().hex[:6]}").get("/app/probe")
    assert r.status_code == 200
    assert 'id="probe-badge">接口文档 <span class="header-badge__count">2</span>' in r.text
    for who in (f"slow-{uuid.uuid4().hex[:6]}", f"gone-{uuid.uuid4().hex[:6]}"):
        began = time.perf_counter()
        r = session_for(base, config, who).get("/app/probe")
        took = time.perf_counter() - began
        assert r.status_code == 200 and "header-badge" not in r.text, who
        assert "Traceback" not in r.text and who in r.text  # the page, with the user
        assert took < 5, (who, took)  # HEADER_BADGE_TIMEOUT 0.5 s, not RPC_TIMEOUT's 10 s
        if who.startswith("slow-"):
            assert took >= 0.45, took  # it did wait for the unanswered call, then gave up


def _overdue_follow_up(rpc, owner):
    """An opportunity of ``owner`` with a follow-up due yesterday (set up by an admin,
    the only caller allowed to date a write)."""
    from services.common.cli.demo import demo_customers
    now = dt.datetime.now(dt.UTC)
    data = next(demo_customers(1, [owner], seed=uuid.uuid4().int % 10**9))
    with rpc(actor(owner)) as p:
        customer = p.customers.create_customer(dict(data, type="potential", influence=1))
    with rpc(actor("kit-admin", "admin")) as p:
        opp = p.sales.create_opportunity(
            {"customer_id": customer["id"], "owner_id": owner, "amount": "1000.00",
             "expected_close_date": (now + dt.timedelta(days=30)).date().isoformat()},
            at=(now - dt.timedelta(days=3)).isoformat())
        p.sales.schedule_follow_up(opp["id"], (now - dt.timedelta(days=1)).isoformat(),
                                   "call back", at=(now - dt.timedelta(days=2)).isoformat())


def test_sales_header_badge_counts_follow_ups_due_and_links_to_my_day(bases, config, rpc):
    base = bases["sales_gateway"]
    me = f"kb-{uuid.uuid4().hex[:6]}"
    u = session_for(base, config, me)
    for path in ("/app/my-day", "/app/leads"):
        assert "due-badge" not in u.get(path).text  # nothing due: no badge
    _overdue_follow_up(rpc, me)
    # My day (counts from its own RPC) and the leads list (the hook's own count)
    for path in ("/app/my-day", "/app/leads", "/app/pipeline"):
        html = u.get(path).text
        assert html.count('id="due-badge"') == 1, path
        badge = html[html.index('<a href="/app/my-day" class="header-badge'):]
        badge = badge[:badge.index("</a>")]
        assert "header-badge--danger" in badge and 'title="逾期 1 条，今天到期 0 条跟进"' in badge
        assert '待跟进 <span class="header-badge__count">1</span>' in badge
        user_box = html[html.index('class="user-box"'):html.index('id="sign-out"')]
        assert 'id="due-badge"' in user_box, path  # in the header, next to the name
    # another workspace's gateway shows no sales badge
    assert "due-badge" not in session_for(bases["customers_gateway"], config, me).get(
        "/app/customers").text


# --- /go/<service>?to= -------------------------------------------------------------------------
def test_go_into_another_workspace(bases, config):
    base = bases["customers_gateway"]
    offset = int(os.environ.get("CRM_PORT_OFFSET", "0") or 0)
    sales = f"http://127.0.0.1:{8002 + offset}"  # the sales workspace's port (ARCHITECTURE §2)
    s = requests.Session()
    r = s.get(base + "/go/sales", params={"to": "/app/orders?owner_id=u1"}, headers=HTML,
              allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == sales + "/app/orders?owner_id=u1"
    r = s.get(base + "/go/sales", headers=HTML, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == sales + "/"
    r = s.get(base + "/go/customers", params={"to": "/app/customers?q=张三"}, headers=HTML,
              allow_redirects=False, timeout=10)
    assert r.headers["Location"].endswith("/app/customers?q=%E5%BC%A0%E4%B8%89")
    for bad in ("https://evil.example/app/x", "//evil.example/app", "/login", "/app/../docs",
                "/app//evil.example", "/app/x\r\nSet-Cookie: crm_token=x", ""):
        r = s.get(base + "/go/sales", params={"to": bad}, headers=HTML, allow_redirects=False,
                  timeout=10)
        assert r.status_code == 404 and "Location" not in r.headers, bad
        assert r.headers["Content-Type"].startswith("text/html") and "记录不存在" in r.text
    assert s.get(base + "/go/nope", params={"to": "/app/x"}, headers=HTML,
                 allow_redirects=False, timeout=10).status_code == 404


# --- security headers ------------------------------------------------------------------------
def test_pages_carry_csp_json_answers_unchanged(bases, config):
    base = bases["customers_gateway"]
    u = session_for(base, config, "u1")
    for path in ("/login", "/app", "/app/customers", "/app/no-such-page", "/docs"):
        r = u.get(path)
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["Referrer-Policy"] == "same-origin", path
    from services.common.auth import mint_token
    r = requests.get(base + "/customers", timeout=10, headers={
        "Authorization": "Bearer " + mint_token(config, "u1", "staff", "sales")})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" not in r.headers  # the JSON API is as it was


def test_event_lag_metric_says_what_it_measures(bases):
    """reporting measures the lag from the relay's publish time (or receipt), not
    occurred_at (back-dated demo events): the exposition's HELP line says so."""
    text = requests.get(bases["customers_gateway"] + "/metrics", timeout=10).text
    assert "# HELP crm_event_lag_seconds Apply time minus publish (or receive) time\n" in text
