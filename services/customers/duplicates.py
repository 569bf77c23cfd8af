"""Likely duplicates of customers just written (warnings, never a refusal).

A candidate is another live customer (not a merge tombstone) with
  - ``same_name``: the same ``name_key`` (services.customers.names),
  - ``same_mobile``: a contact mobile equal to one of the probe's contact mobiles,
  - ``similar_name_same_region``: the same stored ``similar_key`` (region key and similar
    key of the name, ``names.stored_similar_key``).
Every look-up goes through an index (customers.name_key, customers.similar_key,
contacts.mobile): for one customer (create, update) one statement (the three ``IN``
look-ups joined by ``UNION ALL``), for a batch (an import chunk of 500 rows) three
statements for the whole chunk, never one per row.

Who may see them: every caller, whoever owns the candidate — staff learn that a
likely duplicate exists (its id, its company name, why), never its contacts or owner;
get_customer on the id still answers NotFound for someone else's customer.
"""
from sqlalchemy import bindparam, literal, select, union_all

from services.customers import names
from services.customers.models import Contact, Customer

REASONS = ("same_name", "same_mobile", "similar_name_same_region")  # strongest first
LIMIT = 10  # candidates reported per customer
CHUNK = 500
_C, _K = Customer.__table__.c, Contact.__table__.c
_PARTS = (  # (kind, key, id, name) where the key is in the bound list
    select(literal(0).label("kind"), _C.name_key.label("key"), _C.id, _C.name).where(
        _C.name_key.in_(bindparam("names", expanding=True)), _C.merged_into_id.is_(None)),
    select(literal(1), _C.similar_key, _C.id, _C.name).where(
        _C.similar_key.in_(bindparam("similar", expanding=True)),
        _C.merged_into_id.is_(None)),
    select(literal(2), _K.mobile, _C.id, _C.name).select_from(
        Contact.__table__.join(Customer.__table__, _C.id == _K.customer_id)).where(
        _K.mobile.in_(bindparam("mobiles", expanding=True)), _C.merged_into_id.is_(None)))
# one customer (create, update): the three look-ups in one statement, one round trip.
# A batch (import): one statement per kind: PostgreSQL plans the UNION of three
# 500-key look-ups as a parallel append (workers started for each chunk: 2x slower).
_LOOKUP = union_all(*_PARTS)
_BIND = ("names", "similar", "mobiles")


def probe(customer_id, name, region, contacts, keys=None):
    """What one written customer is looked up by (``keys``: its stored name keys, when
    already computed)."""
    k = keys or names.keys(name, region)
    return {"id": customer_id, "name_key": k["name_key"], "similar_key": k["similar_key"],
            "mobiles": sorted({c.get("mobile") for c in contacts or () if c.get("mobile")})}


def probe_of(customer):
    """``probe`` of an ORM customer."""
    return probe(customer.id, customer.name, customer.region,
                 [{"mobile": c.mobile} for c in customer.contacts],
                 {"name_key": customer.name_key, "similar_key": customer.similar_key})


def _rows(conn, probes):
    """(kind, key, id, name) of every candidate, CHUNK keys of each kind per statement."""
    lists = [sorted({p["name_key"] for p in probes if p["name_key"]}),
             sorted({p["similar_key"] for p in probes if p["similar_key"]}),
             sorted({m for p in probes for m in p["mobiles"]})]
    if len(probes) == 1:
        yield from conn.execute(_LOOKUP, dict(zip(_BIND, lists, strict=True))).all()
        return
    for stmt, bind, keys in zip(_PARTS, _BIND, lists, strict=True):
        for i in range(0, len(keys), CHUNK):
            yield from conn.execute(stmt, {bind: keys[i:i + CHUNK]}).all()


def find(conn, probes):
    """For each probe, its candidates ``[{"id", "name", "reason"}]`` (strongest reason
    per candidate, then by id; at most LIMIT)."""
    found_by = ({}, {}, {})  # by name key, by similar key, by mobile
    for kind, key, cid, name in _rows(conn, probes):
        found_by[kind].setdefault(key, []).append((cid, name))
    by_name, by_similar, by_mobile = found_by
    out = []
    for p in probes:
        found = {}  # id -> (rank, name)

        def note(cid, name, rank, p=p, found=found):
            if cid != p["id"] and (cid not in found or found[cid][0] > rank):
                found[cid] = (rank, name)
        for cid, name in by_name.get(p["name_key"], ()):
            note(cid, name, 0)
        for mobile in p["mobiles"]:
            for cid, name in by_mobile.get(mobile, ()):
                note(cid, name, 1)
        for cid, name in by_similar.get(p["similar_key"], ()):
            note(cid, name, 2)
        ranked = sorted(found.items(), key=lambda item: (item[1][0], item[0]))[:LIMIT]
        out.append([{"id": cid, "name": name, "reason": REASONS[rank]}
                    for cid, (rank, name) in ranked])
    return out
