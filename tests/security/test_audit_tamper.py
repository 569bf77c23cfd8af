"""Tampering with the audit trail (services.common.audit) is detected and located, for
every audited record type of every service, in that service's own schema (alembic, on
SQLite and PostgreSQL): edit a row, delete a middle row, delete the tail (also with the
head rolled back to an older signed head: the checkpoint catches it), and re-hash the
chain without the key. Then the same through the running customers service: the
modification log's removed tail and the audit RPCs."""
import hashlib
import json
import time

import eventlet
import pytest
from sqlalchemy import create_engine, delete, select, update

from services.common import audit
from services.common.db import with_driver
from services.common.migrate import upgrade
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
AUDITED = ("customers", "sales", "service_desk", "marketing")


def _record_types(service):
    import importlib
    base = importlib.import_module(f"services.{service}.models").Base
    return base, sorted({m.class_.__audit__ for m in base.registry.mappers
                         if getattr(m.class_, "__audit__", None)})


CASES = [(s, t) for s in AUDITED for t in _record_types(s)[1]]


def test_every_record_type_of_the_issue_is_audited():
    types = {t for _, t in CASES}
    assert {"customer", "contact", "tag", "attachment", "lead", "opportunity", "order",
            "payment", "ticket", "survey", "campaign", "participant"} <= types


@pytest.fixture(scope="module")
def private(config, tmp_path_factory):
    """Each audited service's schema in a database of its own (tampering here cannot
    disturb the other tests' chains)."""
    if config["DB_URIS"]["customers"].startswith("sqlite"):
        folder = tmp_path_factory.mktemp("audit")
        urls, dbs = {s: f"sqlite:///{folder}/{s}.db" for s in AUDITED}, None
    else:
        from tests.support.infra import PgDatabases
        dbs = PgDatabases(AUDITED)
        urls = dbs.create()
    for s, url in urls.items():
        upgrade(s, url)
    yield urls
    if dbs:
        dbs.drop()


def _fresh(config, url, service):
    base, _ = _record_types(service)
    engine = create_engine(with_driver(url))
    with engine.begin() as conn:
        conn.execute(delete(base.Audit.__table__))
        conn.execute(delete(base.AuditHead.__table__))
    return engine, base, audit.Auditor(base, audit.service_key(config, service), service)


def _write(engine, auditor, record_type, n_other=2):
    """Record 1..3 of ``record_type`` interleaved with another record's entries:
    seqs of the record = [1, 3, 5], of the other = [2, 4, 6]."""
    with engine.begin() as conn:
        for i in range(3):
            auditor.record(conn, [
                {"record_type": record_type, "record_id": "7", "action":
                 "created" if i == 0 else "updated", "before": {"status": i},
                 "after": {"status": i + 1}},
                {"record_type": record_type, "record_id": "8", "action": "updated",
                 "before": None, "after": {"n": i}}], actor="u1", via="test")
        cp = auditor.checkpoint(conn)
    return cp


def _verify(engine, auditor, record_id="7", record_type=None, checkpoint=None):
    with engine.connect() as conn:
        return (auditor.verify_record(conn, record_type, record_id, checkpoint),
                auditor.verify_chain(conn, checkpoint))


@pytest.mark.parametrize("service,record_type", CASES)
def test_tampering_is_detected_and_located(config, private, service, record_type):
    url = private[service]
    engine, base, auditor = _fresh(config, url, service)
    t = base.Audit.__table__
    cp = _write(engine, auditor, record_type)
    one, chain = _verify(engine, auditor, record_type=record_type)
    assert one["valid"] and one["entries"] == 3 and chain == {
        "valid": True, "entries": 6, "first_bad_seq": None, "problem": None}

    # 1. edit a row (the record's 2nd entry, seq 3)
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.seq == 3).values(after={"status": 99}))
    one, chain = _verify(engine, auditor, record_type=record_type)
    assert (one["valid"], one["first_bad_index"], one["first_bad_seq"]) == (False, 2, 3)
    assert (chain["valid"], chain["first_bad_seq"], chain["problem"]) == (
        False, 3, "entry altered")

    # 2. delete a middle row (seq 3 again, on a fresh chain)
    engine, base, auditor = _fresh(config, url, service)
    _write(engine, auditor, record_type)
    with engine.begin() as conn:
        conn.execute(delete(t).where(t.c.seq == 3))
    one, chain = _verify(engine, auditor, record_type=record_type)
    assert (one["valid"], one["first_bad_index"], one["problem"]) == (
        False, 2, "entry missing")
    assert (chain["valid"], chain["first_bad_seq"], chain["problem"]) == (
        False, 3, "entry missing")

    # 3. delete the tail (seq 5 and 6: the record's last entry and the other's)
    engine, base, auditor = _fresh(config, url, service)
    _write(engine, auditor, record_type)
    with engine.begin() as conn:
        conn.execute(delete(t).where(t.c.seq >= 5))
    one, chain = _verify(engine, auditor, record_type=record_type)
    assert (one["valid"], one["first_bad_seq"]) == (False, 5)
    assert (chain["valid"], chain["first_bad_seq"], chain["problem"]) == (
        False, 5, "tail removed (head)")

    # 3b. ... and the head rolled back to the signed head of seq 4 (saved earlier):
    # the checkpoint kept outside the database still says 6
    h = base.AuditHead.__table__
    with engine.begin() as conn:
        h4 = conn.execute(select(t.c.hash).where(t.c.seq == 4)).scalar()
        conn.execute(update(h).values(seq=4, hash=h4, mac=auditor.head_mac(4, h4)))
    assert _verify(engine, auditor, record_type=record_type)[1]["valid"]  # head alone
    one, chain = _verify(engine, auditor, record_type=record_type, checkpoint=cp)
    assert (chain["valid"], chain["first_bad_seq"], chain["problem"]) == (
        False, 5, "tail removed (checkpoint)")
    assert not one["valid"] and one["first_bad_seq"] == 5

    # 4. edit seq 3 and re-hash the whole chain (and the head) without the key
    engine, base, auditor = _fresh(config, url, service)
    _write(engine, auditor, record_type)
    with engine.begin() as conn:
        rows = conn.execute(select(t).order_by(t.c.seq)).mappings().all()
        prev, rprev = audit.GENESIS, {}
        for r in rows:
            r = dict(r)
            if r["seq"] == 3:
                r["after"] = {"status": 99}
            r["prev_hash"] = prev
            r["record_prev"] = rprev.get(r["record_id"], audit.GENESIS)
            r["hash"] = hashlib.sha256(
                (prev + json.dumps(audit.entry_payload(r), sort_keys=True)).encode()
            ).hexdigest()
            conn.execute(update(t).where(t.c.seq == r["seq"]).values(
                after=r["after"], prev_hash=r["prev_hash"], record_prev=r["record_prev"],
                hash=r["hash"]))
            prev = rprev[r["record_id"]] = r["hash"]
        conn.execute(update(h).values(seq=6, hash=prev, mac=hashlib.sha256(
            prev.encode()).hexdigest()))
    one, chain = _verify(engine, auditor, record_type=record_type)
    assert (one["valid"], one["first_bad_index"], one["first_bad_seq"]) == (False, 1, 1)
    assert (chain["valid"], chain["first_bad_seq"], chain["problem"]) == (
        False, 1, "entry altered")


def test_contact_values_never_in_clear(config):
    auditor = audit.Auditor(_record_types("customers")[0], b"k" * 32, "customers")
    from services.customers.models import Contact
    row = auditor.mask_row(Contact, {"name": "欧阳娜娜", "mobile": "13912345678",
                                     "email": "nana@example.com", "title": "经理"})
    text = json.dumps(row, ensure_ascii=False)
    assert "欧阳娜娜" not in text and "13912345678" not in text and "nana@" not in text
    assert row["mobile"].startswith("139****5678 #") and row["title"] == "经理"


def test_customers_log_tail_removed_and_audit_rpcs(config, private, start_service, rpc):
    """The running service: the modification log's tail removed → verify_history says
    where; verify_audit for a record and the whole chain; the trail names who did what."""
    url = private["customers"]
    engine, base, _ = _fresh(config, url, "customers")
    # its checkpoints would reach the session's reporting as the shared chain's: none
    start_service(CustomersService, DB_URIS=dict(config["DB_URIS"], customers=url),
                  AUDIT_CHECKPOINT_SECONDS=-1)
    from services.customers.models import HistoryEntry
    with rpc(actor("au-u1")) as p:
        c = p.customers.create_customer(data.customer())
        p.customers.update_customer(c["id"], {"needs": "节能改造"})
        p.customers.add_tags(c["id"], ["复购"])
        assert p.customers.verify_history(c["id"]) == {
            "valid": True, "entries": 3, "broken_at_seq": None}
        assert p.customers.get_customer(c["id"])["contacts"][0]["mobile"].isdigit()
        assert p.customers.export_customers({"q": c["name"]})["items"]
    with rpc(actor("au-m", "manager")) as p:
        # reads of full contact data and exports are audited (within the timer's second)
        deadline = time.time() + 10
        while time.time() < deadline and not [
                e for e in p.customers.audit_trail("customer", c["id"])
                if e["action"] == "contacts_read"]:
            eventlet.sleep(0.2)
        reads = [e for e in p.customers.audit_trail("customer", c["id"])
                 if e["action"] == "contacts_read"]
        assert reads and reads[0]["actor"] == "au-u1"
        exports = p.customers.audit_trail("export", "customers")
        assert exports and exports[-1]["actor"] == "au-u1" and exports[-1]["after"]["count"]
        assert p.customers.verify_audit()["valid"]
        assert p.customers.verify_audit("customer", c["id"])["valid"]
        trail = p.customers.audit_trail("customer", c["id"])
        assert [e["actor"] for e in trail][:2] == ["au-u1", "au-u1"]
        assert trail[1]["before"] == {"needs": None} or "needs" in trail[1]["after"]
        cp = p.customers.audit_checkpoint()
    with rpc(actor("au-u1")) as p:  # staff may not read the trail
        from services.common.errors import Forbidden
        with pytest.raises(Forbidden):
            p.customers.verify_audit()
    # remove the log's last entry (today's tamper that went unnoticed)
    with engine.begin() as conn:
        conn.execute(delete(HistoryEntry.__table__).where(
            HistoryEntry.customer_id == c["id"], HistoryEntry.seq == 3))
    with rpc(actor("au-u1")) as p:
        assert p.customers.verify_history(c["id"]) == {
            "valid": False, "entries": 2, "broken_at_seq": 3}
    # remove the audit tail too and roll the head back: the checkpoint locates it
    t, h = base.Audit.__table__, base.AuditHead.__table__
    with engine.begin() as conn:
        last = conn.execute(select(t.c.seq).order_by(t.c.seq.desc()).limit(1)).scalar()
        conn.execute(delete(t).where(t.c.seq == last))
    with rpc(actor("au-m", "manager")) as p:
        got = p.customers.verify_audit(checkpoint=cp)
        assert (got["valid"], got["first_bad_seq"]) == (False, last)
    del h


# --- reads of full contact data in sales, marketing and service_desk ------------------------
def _reads(proxy, record_type, record_id, timeout=10):
    """The record's ``contacts_read`` entries once the ``flush_audit_reads`` timer has
    appended what was noted (read by a manager: that reads no contact data)."""
    deadline = time.time() + timeout
    while True:
        got = [e for e in proxy.audit_trail(record_type, record_id)
               if e["action"] == "contacts_read"]
        if got or time.time() > deadline:
            return got
        eventlet.sleep(0.2)


def test_sales_list_leads_and_export_audited(config, start_service, start_gateway, rpc):
    """list_leads and the leads CSV/XLSX export (pages of list_leads run as the user):
    the owner's rows, in clear, are audited; a manager's masked rows are not."""
    from services.sales.gateway import SalesGateway
    from services.sales.service import SalesService
    from tests.support.sales_web import Browserless
    start_service(CustomersService)
    start_service(SalesService)
    base = start_gateway(SalesGateway)
    me, mgr = f"ar-s{time.time_ns() % 10**9}", actor("ar-m", "manager")
    name = f"读审计公司{me}"
    with rpc(actor(me)) as p:
        lead = p.sales.create_lead({"source": "trade_show", "customer_name": name,
                                    "contact_mobile": "13812345678"})
    with rpc(mgr) as p:  # masked for the manager: nothing noted
        got = p.sales.list_leads({"q": name})["items"]
        assert got[0]["id"] == lead["id"] and not got[0]["contact_mobile"].isdigit()
    with rpc(actor(me)) as p:
        got = p.sales.list_leads({"q": name})["items"]
        assert got[0]["contact_mobile"] == "13812345678"
    with rpc(mgr) as p:
        reads = _reads(p.sales, "lead", lead["id"])
        assert [(e["actor"], e["via"]) for e in reads] == [(me, "sales.list_leads")]
    r = Browserless(base, config, me).get("/app/leads/export.csv")
    assert r.status_code == 200 and "13812345678" in r.content.decode("utf-8")
    with rpc(mgr) as p:
        deadline = time.time() + 10
        while len(reads) < 2 and time.time() < deadline:
            eventlet.sleep(0.2)
            reads = _reads(p.sales, "lead", lead["id"])
        assert [e["actor"] for e in reads] == [me, me]
        assert p.sales.verify_audit("lead", lead["id"])["valid"]


def test_marketing_list_participants_audited(start_service, rpc):
    """list_participants (and so the participants export): the campaign owner's rows
    in clear are audited; a manager's masked rows are not."""
    from services.marketing.service import MarketingService
    from tests.integration.test_marketing_support import MK, contact, running_campaign
    start_service(CustomersService)
    start_service(MarketingService)
    mgr = actor("ar-m", "manager", "management")
    with rpc(MK) as p:
        camp = running_campaign(p)
        part = p.marketing.register_participant(camp["id"], {"contact": contact()})
    with rpc(mgr) as p:
        got = p.marketing.list_participants(camp["id"])["items"]
        assert got and not got[0]["mobile"].isdigit()
    with rpc(MK) as p:
        got = p.marketing.list_participants(camp["id"])["items"]
        assert got[0]["mobile"].isdigit()
    with rpc(mgr) as p:
        reads = _reads(p.marketing, "participant", part["id"])
        assert [(e["actor"], e["via"]) for e in reads] == [
            (MK["id"], "marketing.list_participants")]


def test_service_desk_ticket_reads_audited(start_service, rpc):
    """get_ticket and list_tickets show the complainant's contact in clear to whoever
    may see the ticket: audited; a staff member who may not see it reads nothing."""
    from services.common.errors import NotFound
    from services.service_desk.service import ServiceDeskService
    start_service(CustomersService)
    start_service(ServiceDeskService)
    me = actor(f"ar-d{time.time_ns() % 10**9}", "staff", "service")
    other, mgr = actor("ar-d-other", "staff", "service"), actor("ar-m", "manager")
    with rpc(actor("ar-u1")) as p:
        c = p.customers.create_customer(data.customer())
    ticket = {"kind": "complaint", "severity": "low", "customer_id": c["id"],
              "complainant_name": "读审计", "channel": "phone", "subject": "读审计",
              "description": "设备报警。"}
    with rpc(me) as p:
        t = p.service_desk.open_ticket(dict(ticket, complainant_contact="13912345678"))
        bare = p.service_desk.open_ticket(ticket)  # no contact: nothing to audit
    # the one handling the call reads the contact in clear (the roster's agent the
    # ticket went to, or the opener when it went to nobody); the opener after that
    # hand-over and a manager see it masked: no read of contact data
    handler = actor(t["assignee_id"] or me["id"], "staff", "service")
    with rpc(other) as p, pytest.raises(NotFound):
        p.service_desk.get_ticket(t["id"])
    with rpc(mgr) as p:
        assert p.service_desk.get_ticket(t["id"])["complainant_contact"] == "139****5678"
    with rpc(handler) as p:
        assert p.service_desk.get_ticket(t["id"])["complainant_contact"] == "13912345678"
    with rpc(me) as p:
        p.service_desk.get_ticket(bare["id"])
    with rpc(mgr) as p:
        reads = _reads(p.service_desk, "ticket", t["id"])
        assert [(e["actor"], e["via"]) for e in reads] == [
            (handler["id"], "service_desk.get_ticket")]
    with rpc(handler) as p:
        items = p.service_desk.list_tickets()["items"]
        assert t["id"] in {i["id"] for i in items}
    with rpc(mgr) as p:
        deadline = time.time() + 10
        while len(reads) < 2 and time.time() < deadline:
            eventlet.sleep(0.2)
            reads = _reads(p.service_desk, "ticket", t["id"])
        assert [(e["actor"], e["via"]) for e in reads] == [
            (handler["id"], "service_desk.get_ticket"),
            (handler["id"], "service_desk.list_tickets")]
        assert not _reads(p.service_desk, "ticket", bare["id"], timeout=0)
