"""Erasure (PIPL) reaches the mail outboxes: a contact person erased at customers while
mails to them wait (SMTP down) — the survey links to them are cancelled in the same
transaction as the rest of service_desk's erasure, a follow-up notice quoting them is
scrubbed in sales', and when SMTP comes back nothing reaches them while the other
customer's mail still goes out. Afterwards no table of customers, sales or service_desk
holds their address, name or mobile, and no mail row their masked address. Real broker,
real database (SQLite or PostgreSQL), a real SMTP server in its own process."""
import datetime as dt
import random
import time
import uuid

import eventlet
import pytest
from sqlalchemy import create_engine, text

from services.common.db import with_driver
from services.customers.service import CustomersService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.support import data
from tests.support.db_texts import found
from tests.support.fixtures import actor, free_port
from tests.support.smtp_catcher import SmtpCatcher

pytestmark = pytest.mark.integration
TAG = uuid.uuid4().hex[:6]
MGR = actor(f"me-m-{TAG}", "manager", "management")
AGENT = actor(f"me-a-{TAG}", "staff", "service")
SELLER = actor(f"me-s-{TAG}")
ERASED = "[erased]"  # what erasure writes (docs/reliability.md), not read from the code
SERVICES = ("customers", "sales", "service_desk")


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    catcher = SmtpCatcher(tmp_path_factory.mktemp("mail"), free_port()).start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def stack(module_services, config, smtp):
    mail = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "SMTP_STARTTLS": "false",
            "MAIL_SEND_INTERVAL": 0.2, "FOLLOW_UP_NOTIFY_INTERVAL": 0.3,
            "MAIL_RETRY_SECONDS": 0.05, "MAIL_MAX_ATTEMPTS": 1000}
    module_services(CustomersService)
    module_services(SalesService, ServiceDeskService, **mail)
    from services.common.cli.rpc_client import cluster
    with cluster(config, MGR) as p:
        p.service_desk.set_agent(AGENT["id"], {"name": AGENT["id"], "categories": []})


def _wait(check, timeout=40):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        eventlet.sleep(0.2)






def _mail_rows(engine, ref):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT status, recipient, recipient_masked, body, subject, last_error "
            "FROM mail_outbox WHERE ref = :ref ORDER BY id"), {"ref": ref})]


def _resolved_ticket(rpc, customer_id, name, contact):
    with rpc(MGR) as p:
        t = p.service_desk.open_ticket({
            "kind": "complaint", "severity": "high", "customer_id": customer_id,
            "complainant_name": name, "complainant_contact": contact, "channel": "phone",
            "subject": "设备故障", "description": "设备开机后报警。"})
        p.service_desk.assign_ticket(t["id"], AGENT["id"])
    with rpc(AGENT) as p:
        p.service_desk.resolve_ticket(t["id"], "已更换", "product_defect")
        link = p.service_desk.issue_survey_link(t["id"], 7)
    return t, link


def test_erasure_cancels_and_scrubs_mail_waiting_for_smtp(stack, rpc, smtp, config):
    rng = random.Random(uuid.uuid4().int)
    name = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(3))
    mobile = f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
    domain = f"d{uuid.uuid4().hex[:8]}.example.cn"  # a domain no other test uses
    email = f"kf{uuid.uuid4().hex[:8]}@{domain}"      # the person's contact address
    own = f"qq{uuid.uuid4().hex[:8]}@{domain}"        # the address they complained from
    other = f"ot{uuid.uuid4().hex[:8]}@{domain}"      # another customer's complainant
    seller_mail = f"{SELLER['id']}@sales.{domain}"
    engines = {s: create_engine(with_driver(config["DB_URIS"][s])) for s in SERVICES}
    with rpc(SELLER) as p:
        c = p.customers.create_customer(data.customer(contacts=[
            {"name": name, "title": "采购经理", "mobile": mobile, "email": email,
             "is_primary": True}]))
        cid, kid = c["id"], c["contacts"][0]["id"]
        other_customer = p.customers.create_customer(data.customer())
        p.sales.create_lead({"source": "phone", "customer_id": cid, "contact_name": name,
                             "contact_mobile": mobile, "contact_email": email})
        p.sales.set_notify_settings(seller_mail)
        opp = p.sales.create_opportunity({"customer_id": cid, "amount": "8000.00",
                                          "expected_close_date": "2027-06-30",
                                          "name": f"擦除商机{TAG}"})

    # before: one survey mail to the contact goes out (only its masked address stays)
    sent_before, _ = _resolved_ticket(rpc, cid, "周先生", "13600002222")
    assert len(_wait(lambda: smtp.messages(email))) == 1

    smtp.stop()  # SMTP down: what follows waits in the outboxes
    try:
        to_contact, link = _resolved_ticket(rpc, cid, "孙女士", "13600003333")
        assert link["mailed_to"] == f"k***@{domain}"
        complained, link = _resolved_ticket(rpc, cid, name, own)
        assert link["mailed_to"] == f"q***@{domain}"
        kept, _ = _resolved_ticket(rpc, other_customer["id"], "吴先生", other)
        due = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).replace(microsecond=0)
        with rpc(SELLER) as p:
            fu = p.sales.schedule_follow_up(opp["id"], due.isoformat(),
                                            f"给{name}打电话，{mobile}")
        desk, sales = engines["service_desk"], engines["sales"]
        refs = {t["id"]: f"ticket:{t['id']}" for t in (sent_before, to_contact, complained,
                                                       kept)}
        _wait(lambda: all(r["status"] == "pending" and r["recipient"]
                          for t in (to_contact, complained, kept)
                          for r in _mail_rows(desk, refs[t["id"]])))
        fu_rows = _wait(lambda: _mail_rows(sales, f"follow_up:{fu['id']}"))
        assert fu_rows[0]["status"] == "pending" and name in fu_rows[0]["body"]
        assert found(engines, [email, own])  # the addresses are there, waiting

        with rpc(MGR) as p:
            assert p.customers.erase_contact(cid, kid)["erased"]
        with rpc(MGR) as p:  # both services applied the erasure
            _wait(lambda: p.service_desk.get_ticket(complained["id"])["complainant_name"]
                  == ERASED and _mail_rows(sales, f"follow_up:{fu['id']}")[0]["body"]
                  and name not in _mail_rows(sales, f"follow_up:{fu['id']}")[0]["body"])

        # nothing of the person in any table of the three services (mail rows included),
        # but the follow-up's own note (sales' erasure does not scrub notes: not mail);
        # masked addresses only in the audit trails (masked by design, never rewritten)
        hits = found(engines, [name, mobile, email, own, f"k***@{domain}",
                              f"q***@{domain}"])
        assert [f for f in hits if f[1] != "audit_log" and f[:2] != ("sales", "follow_ups")
                ] == [], hits
        assert all("***" in n for _, t, n in hits if t == "audit_log"), hits
        for t in (to_contact, complained):
            (row,) = _mail_rows(desk, refs[t["id"]])
            assert row["status"] == "dead" and row["recipient"] is None
            assert row["body"] is None and row["recipient_masked"] == ERASED
            assert "erased" in row["last_error"]
        (row,) = _mail_rows(desk, refs[sent_before["id"]])
        assert row["status"] == "sent" and row["recipient"] is None and row["body"] is None
        assert row["recipient_masked"] == ERASED
        (row,) = _mail_rows(desk, refs[kept["id"]])  # another person's mail: untouched
        assert row["status"] == "pending" and row["recipient"] == other
        (row,) = _mail_rows(sales, f"follow_up:{fu['id']}")
        assert row["status"] == "pending" and row["recipient"] == seller_mail
        assert ERASED in row["body"]
        with rpc(AGENT) as p:
            assert p.service_desk.survey_mail_status(to_contact["id"])["status"] == "dead"
    finally:
        smtp.start()

    # SMTP back: the other customer's survey and the scrubbed notice go out, nothing
    # more reaches the erased person
    got = _wait(lambda: smtp.messages(other))
    notice = _wait(lambda: smtp.messages(seller_mail))
    assert len(got) == 1 and len(notice) == 1
    body = notice[0].get_content()
    assert name not in body and mobile not in body and ERASED in body
    eventlet.sleep(1.5)  # several more runs of the send timers
    assert len(smtp.messages(email)) == 1  # the one sent before the erasure
    assert smtp.messages(own) == []
    assert [f for f in found(engines, [name, mobile, email, own])
            if f[:2] != ("sales", "follow_ups")] == []
    for e in engines.values():
        e.dispose()
