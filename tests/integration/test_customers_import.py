"""The set-based import (one chunk = one SELECT of the USCCs, multi-row inserts): bad rows
reported per row with nothing written for them, good rows land with their hash-chained
history and their outbox events, a re-import updates, a clash found by the database is
reported for its row only."""
import random
import uuid

import pytest
from sqlalchemy import select

from services.common.actors import Actor
from services.contract.events import validate_event
from services.customers import commands
from services.customers.models import Base, Customer, HistoryEntry
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor, offline_database
from tests.support.standards import RIC_SAMPLE

pytestmark = pytest.mark.integration
M = actor("im-m1", "manager", "management")
RESIDENT_ID = RIC_SAMPLE  # GB 11643-1999's published sample: the scanner refuses it


@pytest.fixture(scope="module", autouse=True)
def _service(module_services):
    module_services(CustomersService)


@pytest.fixture(scope="module")
def db(config):
    """The customers database of this run, in-process (its relay is never started)."""
    with offline_database(config, "customers", Base) as d:
        yield d


def _row(i, **over):
    c = data.customer()
    row = {"name": c["name"], "uscc": c["uscc"], "industry_code": "C35", "type": "potential",
           "region": "上海", "owner_id": "im-u1", "tags": "导入;展会获取",
           "annual_budget": "50000.00", "contact_name": "陈静", "contact_title": "经理",
           "contact_mobile": f"1380000{i:04d}", "contact_email": f"c{i}@example.cn"}
    row.update(over)
    return row


def _customers(db, usccs):
    with db.read_unit_of_work() as ro:
        return {c.uscc: c for c in ro.session.scalars(
            select(Customer).where(Customer.uscc.in_(list(usccs))))}


def _events(db, ids):
    """customer_* envelopes in the outbox for these customer ids, in outbox order."""
    with db.read_unit_of_work() as ro:
        rows = ro.session.execute(select(Base.Outbox.envelope).where(
            Base.Outbox.event_type.in_(("customer_created", "customer_updated")))
            .order_by(Base.Outbox.id)).scalars().all()
    return [e for e in rows if e["data"]["customer_id"] in ids]


def test_import_chunk_then_reimport(rpc, db):
    rows = [_row(i) for i in range(30)]
    rows.insert(3, _row(90, uscc="91310000BADBADBAD1"))          # row 4: invalid USCC
    rows.insert(7, _row(91, contact_mobile="12345"))              # row 8: invalid mobile
    rows.insert(12, _row(92, needs=f"法人身份证 {RESIDENT_ID}"))    # row 13: sensitive data
    rows.append(dict(rows[1], industry_code="C36"))                # row 34: repeats row 2
    bad = {4: "uscc", 8: "contact_mobile", 13: "needs"}
    with rpc(M) as p:
        res = p.customers.import_customers(rows)
    assert (res["created"], res["updated"]) == (30, 1), res["errors"]
    assert [(e["row"], sorted(e["fields"])) for e in res["errors"]] == [
        (n, [f]) for n, f in sorted(bad.items())]
    good = [r for n, r in enumerate(rows, 1) if n not in bad]
    found = _customers(db, [r["uscc"] for r in rows])
    assert set(found) == {r["uscc"] for r in good}                 # nothing for bad rows
    with db.read_unit_of_work() as ro:
        assert ro.session.scalar(select(Customer.id).where(
            Customer.name.in_([rows[n - 1]["name"] for n in bad]))) is None
    repeated = found[rows[1]["uscc"]]
    assert repeated.industry_code == "C36"                         # the repeat updated it
    first = found[rows[0]["uscc"]]
    assert first.tags == ["导入", "展会获取"] and first.owner_id == "im-u1"
    assert [c.mobile for c in first.contacts] == ["13800000000"] and first.contacts[0].is_primary
    ids = {c.id for c in found.values()}
    events = _events(db, ids)
    assert sorted(e["data"]["customer_id"] for e in events if e["type"] == "customer_created") \
        == sorted(ids)
    assert [e["data"]["customer_id"] for e in events if e["type"] == "customer_updated"] == [
        repeated.id]
    assert all(validate_event(e) == {} for e in events)
    created = next(e for e in events if e["data"]["customer_id"] == first.id)
    assert "13800000000" not in str(created)                       # no contact PII
    with rpc(M) as p:
        for c in found.values():
            entries = 2 if c.id == repeated.id else 1
            assert p.customers.verify_history(c.id) == {"valid": True, "entries": entries,
                                                        "broken_at_seq": None}
        log = p.customers.get_history(first.id)
        assert log[0]["action"] == "created" and "138****0000" in str(log)
        assert "13800000000" not in str(log)
        # re-import: every good row updates its customer, the bad rows are reported again
        again = [dict(r, region="杭州") for r in rows]
        res2 = p.customers.import_customers(again)
    assert (res2["created"], res2["updated"]) == (0, 31)
    assert [e["row"] for e in res2["errors"]] == sorted(bad)
    after = _customers(db, found)
    assert {c.region for c in after.values()} == {"杭州"}
    assert len(_events(db, ids)) == len(events) + 31
    with rpc(M) as p:
        assert p.customers.verify_history(first.id) == {"valid": True, "entries": 2,
                                                        "broken_at_seq": None}


def test_staff_import_cannot_take_anothers_customer(rpc):
    theirs = _row(1)
    with rpc(M) as p:
        assert p.customers.import_customers([theirs])["created"] == 1
    mine = _row(2, owner_id=None)
    with rpc(actor("im-u9")) as p:
        res = p.customers.import_customers([dict(theirs, owner_id=None), mine])
    assert (res["created"], res["updated"]) == (1, 0)
    assert res["errors"] == [{"row": 1, "fields": {
        "uscc": ["already registered to another owner"]}}]


def test_a_clash_the_select_missed_is_reported_for_its_row_only(rpc, db):
    """A USCC registered between the chunk's SELECT and its insert (another process):
    the multi-row insert fails in its savepoint, the chunk is redone row by row."""
    taken = _row(3)
    with rpc(M) as p:
        p.customers.import_customers([taken])
    rows = [_row(4), dict(_row(5), uscc=taken["uscc"]), _row(6)]
    system = Actor()
    from services.common.schemas import load
    from services.customers.schemas import CustomerInSchema
    plans = [(n, commands.prepare_create(system, load(CustomerInSchema(),
                                                       commands.row_to_data(r)), system_now()))
             for n, r in enumerate(rows, 1)]
    errors = {}
    with db.unit_of_work() as uow:
        created = commands._import_creates(uow, system, plans, system_now(), errors)
        queued = [e["envelope"]["data"]["name"] for e in uow._outbox]
        uow.commit()
    assert created == 2
    assert errors == {2: {"row": 2, "fields": {"uscc": ["already registered"]}}}
    assert queued == [rows[0]["name"], rows[2]["name"]]  # no event for the failed row
    found = _customers(db, [r["uscc"] for r in rows])
    assert {c.name for c in found.values()} == {rows[0]["name"], rows[2]["name"],
                                                taken["name"]}
    with db.read_unit_of_work() as ro:
        for r in (rows[0], rows[2]):
            cid = found[r["uscc"]].id
            assert ro.session.scalar(select(HistoryEntry.seq).where(
                HistoryEntry.customer_id == cid)) == 1


def system_now():
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc)


# --- issue 20: what the import writes for search and the duplicate check ---------------
def _two_chars():
    """Two random CJK characters (unchanged by NFKC): a fragment no other row holds."""
    rng = random.SystemRandom()
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(2))


def _flat(name, mobile, **over):
    row = {"name": name, "uscc": data.uscc(), "industry_code": "C35", "type": "potential",
           "region": "上海", "contact_name": "陈静", "contact_title": "经理",
           "contact_mobile": mobile}
    row.update(over)
    return row


def test_imported_rows_are_found_by_two_characters_and_warn_of_duplicates(rpc, db):
    """Two chunks of one file (two import_customers calls, as ``crm import customers``
    sends them) after an existing customer: each imported row is found by a two-character
    fragment of its name or of a tag, and duplicates are warned of within a chunk,
    across the file's chunks and against the existing customer."""
    core = uuid.uuid4().hex[:6].upper()
    frag, tag_frag = _two_chars(), _two_chars()
    m_existing, m_row3 = (f"137{uuid.uuid4().int % 10**8:08d}" for _ in range(2))
    with rpc(M) as p:
        existing = p.customers.create_customer(data.customer(
            name=f"{core}电子有限公司", region="上海", tags=[],
            contacts=[{"name": "王芳", "title": "经理", "mobile": m_existing,
                       "is_primary": True}]))
        first = [
            _flat(f"{core}电子有限责任公司", f"136{uuid.uuid4().int % 10**8:08d}"),  # 1
            _flat(f"远{frag}{core}物流有限公司", m_existing),                        # 2
            _flat(f"远{frag} {core} 物流有限公司", m_row3),                           # 3
        ]
        second = [
            _flat(f"{core}电子（上海）集团有限公司", f"135{uuid.uuid4().int % 10**8:08d}",
                  region="上海市"),                                                   # 4
            _flat(f"独立{core}家居", m_row3, tags=f"导入;{tag_frag}客户"),              # 5
        ]
        out1 = p.customers.import_customers(first)
        out2 = p.customers.import_customers(second)
        assert (out1["created"], out1["errors"], out2["created"], out2["errors"]) == (
            3, [], 2, [])
        ids = {r["uscc"]: c.id for r in first + second
               for c in [_customers(db, [r["uscc"]])[r["uscc"]]]}
        row = [None] + [ids[r["uscc"]] for r in first + second]  # row[n]: id of row n
        by_fragment = p.customers.list_customers({"q": frag})
        by_tag = p.customers.list_customers({"q": tag_frag})
        by_middle = p.customers.list_customers({"q": f"{frag[1]}{core[0]}".lower()})
    # found by two characters (inside the name, not its start; in a tag)
    assert [c["id"] for c in by_fragment["items"]] == [row[2], row[3]]
    assert by_fragment["total"] == 2
    assert [c["id"] for c in by_tag["items"]] == [row[5]]
    assert [c["id"] for c in by_middle["items"]] == [row[2]]  # "x ABC": row 3 has a space
    # warned: within the chunk, across the file's chunks, against the existing customer
    e = existing["id"]

    def warnings(out):
        return {(d["row"], d["id"], d["reason"]) for d in out["duplicates"]}
    assert warnings(out1) == {(1, e, "same_name"),
                              (2, e, "same_mobile"), (2, row[3], "same_name"),
                              (3, row[2], "same_name")}
    assert warnings(out2) == {(1, e, "similar_name_same_region"),
                              (1, row[1], "similar_name_same_region"),
                              (2, row[3], "same_mobile")}
