"""Erasure end to end (PIPL), the five services on the real broker: a contact person of
a customer is copied into sales (a lead), service_desk (a complaint's complainant, the
customer copy's birthday and contact), marketing (a campaign participant, what was sent
out, the lead event) and reporting (that event in its log). A manager erases the
contact: afterwards no table of any of the five databases holds the name, mobile or
email (nor a resident ID or bank card, by the standards' own finder), the business
records are still there, and every audit chain and the modification log verify."""
import datetime as dt
import random
import time
import uuid

import eventlet
import pytest
from sqlalchemy import create_engine, select

from services.common.db import with_driver
from services.common.errors import Forbidden
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.reporting.service import ReportingService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.integration.test_marketing_support import MK, contact, running_campaign
from tests.support import data
from tests.support import standards as ref
from tests.support.db_texts import found, texts
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
OWNER = actor("er-u1")
MGR = actor("er-m", "manager", "management")
SERVICES = ("customers", "sales", "service_desk", "marketing", "reporting")
ERASED = "[erased]"  # what the erasure writes where a name was (docs/reliability.md)


@pytest.fixture(scope="module", autouse=True)
def _services(module_services):
    module_services(CustomersService, SalesService, ServiceDeskService, MarketingService,
                    ReportingService, AUDIT_CHECKPOINT_SECONDS=0)


def _person():
    rng = random.Random(uuid.uuid4().int)
    name = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(4))
    mobile = f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
    email = f"er{uuid.uuid4().hex[:10]}@example.cn"
    return name, mobile, email


def _engines(config):
    return {s: create_engine(with_driver(config["DB_URIS"][s])) for s in SERVICES}






def _cards(engines):
    """{(service, table, kind, number)} of every resident ID / bank card stored."""
    return {(s, t, *hit) for s, e in engines.items() for t, v in texts(e)
            for hit in ref.find_ids_and_cards(v)}


def _wait(check, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got or time.time() > deadline:
            return got
        eventlet.sleep(0.3)


def test_erasure_end_to_end_then_pii_scan_and_audit_verify(rpc, config):
    name, mobile, email = _person()
    born = dt.date(1961, 2, 27) + dt.timedelta(days=random.randint(0, 3000))
    engines = _engines(config)
    cards_before = _cards(engines)  # other modules publish hand-built envelopes
    with rpc(OWNER) as p:
        c = p.customers.create_customer(data.customer(contacts=[
            {"name": name, "title": "采购经理", "mobile": mobile, "email": email,
             "birthday": born.isoformat(), "is_primary": True}]))
        cid, kid = c["id"], c["contacts"][0]["id"]
        p.customers.update_customer(cid, {"needs": "节能改造"})  # the log names the contact
        lead = p.sales.create_lead({"source": "phone", "customer_id": cid,
                                    "contact_name": name, "contact_mobile": mobile,
                                    "contact_email": email})
    with rpc(actor("er-s1", "staff", "service")) as p:
        ticket = p.service_desk.open_ticket({
            "kind": "complaint", "severity": "high", "customer_id": cid,
            "complainant_name": name, "complainant_contact": mobile, "channel": "phone",
            "subject": "设备故障", "description": "设备开机后报警，无法使用。"})
    with rpc(MK) as p:
        camp = running_campaign(p)
        part = p.marketing.register_participant(
            camp["id"], {"contact": contact(mobile=mobile, email=email, name=name)})
        p.marketing.generate_lead(camp["id"], part["id"])
    # the copies are there: sales' campaign lead, reporting's log of the lead event
    needles = [name, mobile, email]
    before = _wait(lambda: {s for s, _, _ in found(engines, needles)} >= set(SERVICES)
                   and found(engines, needles))
    assert {s for s, _, _ in before} == set(SERVICES), before
    with rpc(MGR) as p:  # sales read the participant's contact in clear: audited
        reads = _wait(lambda: [e for e in p.marketing.audit_trail("participant", part["id"])
                               if e["action"] == "contacts_read"], timeout=10)
        assert reads and reads[0]["actor"] == "svc:sales", reads

    with rpc(OWNER) as p, pytest.raises(Forbidden):  # staff may not erase
        p.customers.erase_contact(cid, kid)
    with rpc(MGR) as p:
        began = time.perf_counter()
        got = p.customers.erase_contact(cid, kid)
        assert got["erased"] and got["history_entries_rewritten"] >= 1
        assert p.customers.erase_contact(cid, kid)["erased"] is False  # idempotent
    left = _wait(lambda: not found(engines, needles), timeout=40)
    assert left, found(engines, needles)
    print(f"\nerasure: copies in {sorted({(s, t) for s, t, _ in before})}, "
          f"none left after {time.perf_counter() - began:.1f} s (scan included)")

    # the business records stay, their contact values replaced
    with rpc(MGR) as p:
        kept = p.customers.get_customer(cid)
        assert kept["contacts"][0]["name"] == ERASED and kept["contacts"][0]["mobile"] is None
        assert p.sales.get_lead(lead["id"])["contact_name"] == ERASED
        assert p.service_desk.get_ticket(ticket["id"])["complainant_name"] == ERASED
        # the modification log and every audit chain still verify
        assert p.customers.verify_history(cid)["valid"]
        for s in ("customers", "sales", "service_desk", "marketing"):
            assert getattr(p, s).verify_audit()["valid"], s
        trail = p.customers.audit_trail("contact", kid)
        assert trail[-1]["action"] == "erased" and trail[-1]["actor"] == "er-m"
    # `crm audit verify`: every chain against the newest checkpoint reporting keeps
    from services.common.cli.audit import verify_services
    got = _wait(lambda: (r := verify_services(config, None)) and all(
        v["checkpoint_seq"] for v in r.values()) and r)
    assert got and all(v["valid"] for v in got.values()), got
    # no resident ID or bank card anywhere either (the standards' own finder)
    assert _cards(engines) <= cards_before
    # the birthday is gone from customers and service_desk's copy
    with engines["customers"].connect() as conn:
        from services.customers.models import Contact
        assert conn.execute(select(Contact.birthday).where(Contact.id == kid)).scalar() is None
    assert not [v for t, v in texts(engines["service_desk"])
                if t == "customer_copies" and born.isoformat() in v]


def test_erase_over_http_managers_only(module_services, config):
    """The JSON route: staff 403, an unknown contact 404, a manager erases (200, the
    declared shape), and the customer's audit trail/verify routes answer managers."""
    import requests

    from services.common.auth import mint_token
    from services.customers.gateway import CustomersGateway
    from tests.support.fixtures import free_port
    port = free_port()
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    staff = {"Authorization": f"Bearer {mint_token(config, 'er-u1', 'staff', 'sales')}"}
    mgr = {"Authorization": f"Bearer {mint_token(config, 'er-m', 'manager', 'management')}"}
    c = requests.post(f"{base}/customers", json=data.customer(), headers=staff,
                      timeout=15).json()
    kid = c["contacts"][0]["id"]
    url = f"{base}/customers/{c['id']}/contacts/{kid}/erase"
    assert requests.post(url, headers=staff, timeout=15).status_code == 403
    missing = f"{base}/customers/{c['id']}/contacts/{kid + 10**6}/erase"
    assert requests.post(missing, headers=mgr, timeout=15).status_code == 404
    r = requests.post(url, headers=mgr, timeout=15)
    assert r.status_code == 200 and r.json()["erased"] is True, r.text
    assert set(r.json()) == {"customer_id", "contact_id", "erased",
                             "history_entries_rewritten"}
    got = requests.get(f"{base}/customers/{c['id']}", headers=staff, timeout=15).json()
    assert got["contacts"][0]["name"] == ERASED and got["contacts"][0]["mobile"] is None
    trail = requests.get(f"{base}/customers/{c['id']}/audit", headers=mgr, timeout=15)
    assert trail.status_code == 200 and trail.json()[0]["action"] == "created"
    assert requests.get(f"{base}/customers/{c['id']}/audit", headers=staff,
                        timeout=15).status_code == 403
    ok = requests.get(f"{base}/customers/{c['id']}/audit/verify", headers=mgr, timeout=15)
    assert ok.status_code == 200 and ok.json()["valid"] is True
    spec = requests.get(f"{base}/openapi.json", timeout=15).json()
    assert "/customers/{customer_id}/contacts/{contact_id}/erase" in spec["paths"]


def test_crm_audit_verify_cli(config, monkeypatch):
    """``crm audit verify``: every audited service's chain against reporting's newest
    checkpoint; exit 0 and one 'valid' line per service."""
    from typer.testing import CliRunner

    from services.common.cli import app
    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if "valid" in x]
    assert len(lines) == 4 and all("NOT VALID" not in x for x in lines), result.output
    one = CliRunner().invoke(app, ["audit", "verify", "--service", "sales", "--json"])
    assert one.exit_code == 0 and '"sales"' in one.output, one.output
