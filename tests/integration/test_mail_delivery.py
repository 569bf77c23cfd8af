"""E-mail end to end (issues 18, 19): sales and service_desk on the real broker and
database (SQLite or PostgreSQL), their mail timers sending to a REAL SMTP server
(aiosmtpd in its own process on a free port) that writes what it receives."""
import datetime as dt
import re
import time
import uuid
from zoneinfo import ZoneInfo

import eventlet
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text

from services.common.cli.demo import demo_customers
from services.common.db import with_driver
from services.common.errors import ValidationError
from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.fixtures import actor, free_port
from tests.support.smtp_catcher import SmtpCatcher
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
MANAGER = actor(f"mm-{TAG}", "manager", "management")
AGENT = actor(f"ma-{TAG}", "staff", "service")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    catcher = SmtpCatcher(tmp_path_factory.mktemp("mail"), free_port()).start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def stack(module_services, config, smtp):
    web_port = free_port()
    mail = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "SMTP_STARTTLS": "false",
            "SMTP_FROM": "Kehu CRM <crm@kehu.test>", "MAIL_SEND_INTERVAL": 0.2,
            "FOLLOW_UP_NOTIFY_INTERVAL": 0.3, "MAIL_RETRY_SECONDS": 0.1,
            "MAIL_MAX_ATTEMPTS": 30,
            "WORKSPACE_URLS": {"service_desk": f"http://127.0.0.1:{web_port}/",
                               "sales": "https://crm.kehu.test/sales/"}}
    module_services(CustomersService)
    module_services(SalesService, ServiceDeskService, **mail)
    module_services(ServiceDeskGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{web_port}")
    from services.common.cli.rpc_client import cluster
    with cluster(config, MANAGER) as p:
        p.service_desk.set_agent(AGENT["id"], {"name": AGENT["id"], "categories": []})
    return f"http://127.0.0.1:{web_port}"


@pytest.fixture(scope="module")
def sales_web(stack, module_services):
    port = free_port()
    module_services(SalesGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}"


def eventually(fn, timeout=20, interval=0.1):
    deadline = time.time() + timeout
    while True:
        result = fn()
        if result:
            return result
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        eventlet.sleep(interval)


def outbox_rows(config, service, ref):
    engine = create_engine(with_driver(config["DB_URIS"][service]))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(
                "SELECT status, attempts, recipient, recipient_masked, body, message_id "
                "FROM mail_outbox WHERE ref = :ref ORDER BY id"), {"ref": ref})]
    finally:
        engine.dispose()


def new_customer(rpc, owner, **changes):
    data = next(demo_customers(1, [owner], seed=uuid.uuid4().int % 10**9))
    data.update(influence=1, type="potential", **changes)
    with rpc(actor(owner)) as p:
        return p.customers.create_customer(data)


def due_follow_up(rpc, owner, email, minutes=10):
    """A salesperson with a notice address, an opportunity and a follow-up due in
    ``minutes`` → (opportunity, follow-up, due_at)."""
    customer = new_customer(rpc, owner)
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).replace(microsecond=0)
    with rpc(actor(owner)) as p:
        assert p.sales.set_notify_settings(email)["email"] == email
        opp = p.sales.create_opportunity({"customer_id": customer["id"], "amount": "5000.00",
                                          "expected_close_date": "2027-03-31",
                                          "name": f"邮件提醒商机{uuid.uuid4().hex[:4]}"})
        fu = p.sales.schedule_follow_up(opp["id"], due.isoformat(), "电话确认报价")
        p.sales.schedule_follow_up(opp["id"], (due + dt.timedelta(days=2)).isoformat(),
                                   "后天再跟")  # not falling due: no mail
    return opp, fu, due


def dead_count(service, kind):
    return REGISTRY.get_sample_value("crm_mail_dead_total",
                                     {"service": service, "kind": kind}) or 0


# --- sales: follow-ups falling due ------------------------------------------------------
def test_due_follow_up_mails_its_owner_exactly_once(stack, rpc, smtp, config):
    owner = f"mu-{uuid.uuid4().hex[:6]}"
    email = f"{owner}@example.com"
    opp, fu, due = due_follow_up(rpc, owner, email)
    got = eventually(lambda: smtp.messages(email))
    eventlet.sleep(1.5)  # several more runs of both timers
    got = smtp.messages(email)
    assert len(got) == 1
    msg = got[0]
    body = msg.get_content()
    local = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert opp["name"] in msg["Subject"] and "跟进提醒" in msg["Subject"]
    assert "电话确认报价" in body and opp["name"] in body
    assert f"{local:%Y-%m-%d %H:%M}（Asia/Shanghai）" in body
    assert f"https://crm.kehu.test/sales/app/opportunities/{opp['id']}" in body
    assert "后天再跟" not in body
    rows = outbox_rows(config, "sales", f"follow_up:{fu['id']}")
    assert len(rows) == 1 and rows[0]["status"] == "sent"
    assert msg["Message-ID"] == rows[0]["message_id"]
    # once sent, the address and body are no longer kept
    assert rows[0]["recipient"] is None and rows[0]["body"] is None
    assert rows[0]["recipient_masked"] == f"{owner[0]}***@example.com"


def test_notice_settings_refuse_a_bad_address_and_write_nothing(stack, rpc):
    owner = f"mv-{uuid.uuid4().hex[:6]}"
    with rpc(actor(owner)) as p:
        for bad in ("not-an-address", "a@b", "x@example.com, y@example.com", 42):
            with pytest.raises(ValidationError) as err:
                p.sales.set_notify_settings(bad)
            assert "email" in err.value.fields
        assert p.sales.get_notify_settings() == {"email": None, "email_masked": None}


def test_smtp_down_mail_stays_pending_then_is_delivered(stack, rpc, smtp, config):
    owner = f"mw-{uuid.uuid4().hex[:6]}"
    email = f"{owner}@example.com"
    smtp.stop()
    try:
        _, fu, _ = due_follow_up(rpc, owner, email)
        ref = f"follow_up:{fu['id']}"
        rows = eventually(lambda: [r for r in outbox_rows(config, "sales", ref)
                                   if r["attempts"] >= 2])
        assert rows[0]["status"] == "pending" and rows[0]["recipient"] == email
    finally:
        smtp.start()
    got = eventually(lambda: smtp.messages(email), timeout=30)
    assert len(got) == 1
    assert eventually(lambda: outbox_rows(config, "sales", ref)[0]["status"] == "sent")


def test_permanent_refusal_is_dead_and_counted(stack, rpc, smtp, config):
    owner = f"mx-{uuid.uuid4().hex[:6]}"
    before = dead_count("sales", "follow_up_due")
    _, fu, _ = due_follow_up(rpc, owner, f"{owner}@bounce.test")  # the server says 550
    ref = f"follow_up:{fu['id']}"
    rows = eventually(lambda: [r for r in outbox_rows(config, "sales", ref)
                               if r["status"] != "pending"])
    assert rows[0]["status"] == "dead" and rows[0]["attempts"] == 1  # 5xx: no retries
    assert rows[0]["recipient"] is None and rows[0]["body"] is None
    assert dead_count("sales", "follow_up_due") == before + 1
    eventlet.sleep(1)
    assert outbox_rows(config, "sales", ref)[0]["attempts"] == 1  # never tried again


def test_corrected_address_gets_the_dead_notices_once(stack, sales_web, rpc, smtp, config):
    """A wrong address (the server refuses it: dead), then the owner corrects it on
    the 通知设置 page: each follow-up still open gets ONE notice at the new address (the
    page says so); one done meanwhile gets none; saving again, or another address,
    mails nothing more."""
    owner = f"my-{uuid.uuid4().hex[:6]}"
    wrong, right, later = (f"{owner}@bounce.test", f"{owner}.ok@example.com",
                           f"{owner}.new@example.com")
    opp, fu, due = due_follow_up(rpc, owner, wrong)
    with rpc(actor(owner)) as p:
        done = p.sales.schedule_follow_up(opp["id"], (due + dt.timedelta(minutes=1))
                                          .isoformat(), "发送样品")
    refs = [f"follow_up:{fu['id']}", f"follow_up:{done['id']}"]
    eventually(lambda: all([r["status"] for r in outbox_rows(config, "sales", ref)]
                           == ["dead"] for ref in refs))
    with rpc(actor(owner)) as p:
        p.sales.complete_follow_up(done["id"], "已寄出")
    page = WebSession(sales_web, config, owner)
    form = page.get("/app/settings/notifications")
    saved = page.post("/app/settings/notifications",
                      data={"csrf_token": CSRF.search(form.text).group(1), "email": right})
    assert saved.status_code == 303, saved.status_code
    shown = page.get(saved.headers["Location"])
    assert "旧邮箱未收到的 1 封跟进提醒将重新发送至新邮箱" in shown.text
    got = eventually(lambda: smtp.messages(right))
    eventlet.sleep(1.5)  # several more runs of both timers
    got = smtp.messages(right)
    assert len(got) == 1 and "电话确认报价" in got[0].get_content()
    assert opp["name"] in got[0]["Subject"]
    rows = outbox_rows(config, "sales", refs[0])
    assert [r["status"] for r in rows] == ["dead", "sent"]
    assert got[0]["Message-ID"] == rows[1]["message_id"]
    assert [r["status"] for r in outbox_rows(config, "sales", refs[1])] == ["dead"]
    with rpc(actor(owner)) as p:
        assert p.sales.set_notify_settings(right)["remailed"] == 0  # the same again
        assert p.sales.set_notify_settings(later)["remailed"] == 0  # it was delivered
    eventlet.sleep(1.5)
    assert len(smtp.messages(right)) == 1 and smtp.messages(later) == []
    assert len(outbox_rows(config, "sales", refs[0])) == 2


def test_waiting_notices_follow_the_address_and_stop_without_one(stack, rpc, smtp, config):
    """SMTP down: a notice waits for the old address; the owner corrects it → it goes
    to the new one (once, not to the old); another owner clears theirs → their waiting
    notice is cancelled and keeps no address."""
    owner, quitter = f"mz-{uuid.uuid4().hex[:6]}", f"mq-{uuid.uuid4().hex[:6]}"
    old, new = f"{owner}.old@example.com", f"{owner}.new@example.com"
    smtp.stop()
    try:
        _, fu, _ = due_follow_up(rpc, owner, old)
        _, gone, _ = due_follow_up(rpc, quitter, f"{quitter}@example.com")
        ref, gone_ref = f"follow_up:{fu['id']}", f"follow_up:{gone['id']}"
        eventually(lambda: outbox_rows(config, "sales", ref)
                   and outbox_rows(config, "sales", gone_ref))
        with rpc(actor(owner)) as p:
            p.sales.set_notify_settings(new)
        with rpc(actor(quitter)) as p:
            p.sales.set_notify_settings("")
        (row,) = outbox_rows(config, "sales", ref)
        assert row["status"] == "pending" and row["recipient"] == new
        assert row["recipient_masked"] == f"{owner[0]}***@example.com"
        (row,) = outbox_rows(config, "sales", gone_ref)
        assert row["status"] == "dead" and row["recipient"] is None and row["body"] is None
    finally:
        smtp.start()
    assert len(eventually(lambda: smtp.messages(new), timeout=40)) == 1
    eventlet.sleep(1)
    assert smtp.messages(old) == [] and smtp.messages(f"{quitter}@example.com") == []
    assert [r["status"] for r in outbox_rows(config, "sales", ref)] == ["sent"]


# --- service_desk: the survey link -------------------------------------------------------
NO_EMAIL = [{"name": "赵先生", "title": "厂长", "mobile": "13700001111", "is_primary": True}]


def resolved_ticket(rpc, contact, customer_id=None):
    if customer_id is None:  # a customer whose contacts have no e-mail
        customer_id = new_customer(rpc, f"mn-{uuid.uuid4().hex[:6]}", contacts=NO_EMAIL)["id"]
    data = {"kind": "complaint", "severity": "high", "complainant_name": "王女士",
            "complainant_contact": contact, "channel": "phone", "subject": "设备故障",
            "description": "设备开机后报警。", "customer_id": customer_id}
    with rpc(MANAGER) as p:
        t = p.service_desk.open_ticket(data)
        p.service_desk.assign_ticket(t["id"], AGENT["id"])
    with rpc(AGENT) as p:
        p.service_desk.resolve_ticket(t["id"], "已更换", "product_defect")
    return t


def test_resolved_tickets_survey_link_is_mailed_and_works_once(stack, rpc, smtp, config):
    email = f"wang.{uuid.uuid4().hex[:6]}@example.com"
    t = resolved_ticket(rpc, email)
    with rpc(AGENT) as p:
        link = p.service_desk.issue_survey_link(t["id"], 7)
    assert link["mailed_to"] == "w***@example.com"
    msg = eventually(lambda: smtp.messages(email))[0]
    body = msg.get_content()
    assert f"#{t['id']}" in msg["Subject"]
    url = re.search(r"(http://\S+/app/survey/\S+)", body).group(1)
    assert url == f"{stack}{link['path']}"
    with rpc(AGENT) as p:
        status = eventually(lambda: (p.service_desk.survey_mail_status(t["id"]) or {}).get(
            "status") == "sent" and p.service_desk.survey_mail_status(t["id"]))
    assert status["sent_to"] == "w***@example.com"
    customer = WebSession(stack)
    form = customer.get(url[len(stack):])
    assert form.status_code == 200 and 'id="survey-form"' in form.text
    token = CSRF.search(form.text).group(1)
    ok = customer.post(url[len(stack):], data={"csrf_token": token, "score": "5"})
    assert ok.status_code == 200 and 'id="survey-thanks"' in ok.text
    assert customer.get(url[len(stack):]).status_code == 410  # used: once only


def test_survey_link_without_known_address_queues_nothing(stack, rpc, config):
    t = resolved_ticket(rpc, "13812345678")
    with rpc(AGENT) as p:
        link = p.service_desk.issue_survey_link(t["id"], 7)
        assert link["mailed_to"] is None
        assert p.service_desk.survey_mail_status(t["id"]) is None
    assert outbox_rows(config, "service_desk", f"ticket:{t['id']}") == []


def test_survey_link_goes_to_the_customers_contact(stack, rpc, smtp):
    owner = f"mc-{uuid.uuid4().hex[:6]}"
    email = f"li.{uuid.uuid4().hex[:6]}@example.com"
    customer = new_customer(rpc, owner, contacts=[
        {"name": "李经理", "title": "采购经理", "mobile": "13912345678", "email": email,
         "is_primary": True}])
    t = resolved_ticket(rpc, "13900001111", customer["id"])
    with rpc(AGENT) as p:
        assert p.service_desk.issue_survey_link(t["id"], 7)["mailed_to"] == \
            "l***@example.com"
    assert len(eventually(lambda: smtp.messages(email))) == 1
