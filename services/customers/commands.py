"""customers' write operations: create, update, import, order events.

Each runs inside the caller's unit of work, records the modification log and
emits its events to the outbox; nothing here commits.
"""
import datetime as dt

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from services.common.db import raw_cursor, raw_insert
from services.common.errors import Conflict, ValidationError, validation_error
from services.common.gc_batch import fewer_collections
from services.common.schemas import load
from services.customers import domain, duplicates, names, search
from services.customers import repository as repo
from services.customers.models import Customer
from services.customers.schemas import UPDATABLE, CustomerChangesSchema, CustomerInSchema

MAX_ROWS = 1000


def _contacts_or_error(contacts):
    contacts, problem = domain.normalise_contacts(contacts)
    if problem:
        raise validation_error({"contacts": problem})
    return contacts


def _owner_for(actor, requested):
    if actor.is_manager:
        return requested or actor.id
    if requested and requested != actor.id:
        raise validation_error({"owner_id": "staff can only create customers they own"})
    return actor.id


SEARCHED = {"name", "needs", "contacts", "tags"}  # fields in the search index


def apply(uow, actor, customer, when, action, mutate, event="customer_updated"):
    """Mutate, then log the before/after diff and emit ``event`` if anything changed."""
    before = repo.snapshot(customer)
    mutate(customer)
    repo.refresh_completeness(customer)
    after = repo.snapshot(customer)
    changes = domain.diff(before, after, repo.SNAPSHOT_FIELDS)
    if not changes:
        return []
    customer.updated_at = when
    repo.append_history(uow.session, customer.id, actor.label, when, action, changes)
    uow.session.flush()
    if {c["field"] for c in changes} & SEARCHED:
        search.reindex(uow.session.connection(), [customer.id])
    if event:
        uow.emit(event, repo.event_data(customer, changed_fields=[c["field"] for c in changes]),
                 when)
    return changes


def prepare_create(actor, data, when):
    """Everything a new customer is, computed before any I/O (ValidationError here)."""
    contacts = _contacts_or_error(data.pop("contacts"))
    contacts = [{k: c.get(k) for k in repo.CONTACT_KEYS} for c in contacts]
    tags = sorted({t.strip() for t in data.pop("tags", None) or () if t and t.strip()})
    record = dict(data, owner_id=_owner_for(actor, data.get("owner_id")))
    for f in _CUSTOMER_DEFAULTS:
        record.setdefault(f, None)
    record["tier"] = domain.compute_tier(
        0, domain.cooperation_years(record["cooperation_since"], domain.local_date(when)),
        record["influence"])
    profile = {f: record[f] for f in domain.PROFILE_FIELDS}
    filled = domain.filled_fields(profile, domain.primary_contact(contacts))
    record.update(completeness=domain.completeness(filled), created_at=when, updated_at=when,
                  version=1)
    record.update(names.keys(record["name"], record["region"]))
    snap = {f: record[f] for f in repo.SNAPSHOT_FIELDS if f not in ("contacts", "tags")}
    snap["contacts"] = contacts
    snap["tags"] = list(tags)
    changes = domain.diff_created(snap, repo.SNAPSHOT_FIELDS)
    return {"record": record, "contacts": contacts, "tags": tags, "filled": filled,
            "changes": changes}


_CUSTOMER_DEFAULTS = ("region", "scale", "annual_budget", "needs", "source_channel",
                      "influence", "cooperation_since", "lost_reason", "lost_note", "lost_at")
_DUPLICATE = ("a customer with this unified social credit code already exists",
              {"uscc": ["already registered"]})


def write_created(uow, actor, plans, when, contact_ids=False):
    """Insert prepared customers set-based: customers (ids returned), contacts, tags,
    their first history entry (seq 1 of the hash chain) and ``customer_created``, on the
    raw cursor of the unit of work's transaction (``services.common.db.raw_insert``).
    Raises SQLAlchemy's IntegrityError / DataError (e.g. a USCC taken meanwhile)."""
    conn = uow.connection
    dbapi = conn.dialect.loaded_dbapi
    cursor = raw_cursor(conn)
    try:
        _write_created(conn.dialect, cursor, actor, plans, when, contact_ids)
    except dbapi.IntegrityError as exc:
        raise sa_exc.IntegrityError("INSERT (customers)", None, exc) from exc
    except dbapi.DataError as exc:
        raise sa_exc.DataError("INSERT (customers)", None, exc) from exc
    finally:
        cursor.close()
    uow.audit(created_audit(plans), at=when)
    for p in plans:
        uow.emit("customer_created", repo.plan_event_data(p), when)
    return [p["record"]["id"] for p in plans]


def created_audit(plans):
    """Audit entries of customers written set-based: the customer (its contacts masked
    as contact rows are), its tags, and the anchor of its log's first entry."""
    entries = []
    for p in plans:
        cid = p["record"]["id"]
        entries.append({"record_type": "customer", "record_id": cid, "action": "created",
                        "new": True, "before": None, "after_row": (Customer, dict(
                            p["record"], contacts=p["contacts"], tags=list(p["tags"])))})
        entries.append({"record_type": "customer_history", "record_id": cid,
                        "action": "created", "new": True, "before": None,
                        "after": {"customer_id": cid, "seq": 1, "action": "created",
                                  "hash": p["history_hash"]}})
    return entries


def _write_created(dialect, cursor, actor, plans, when, contact_ids):
    customers = raw_insert(repo.CUSTOMERS, dialect, returning=("id", "uscc"))
    if len(plans) == 1:
        customers.execute(cursor, plans[0]["record"])
        plans[0]["record"]["id"] = cursor.fetchone()[0]
    else:
        ids = dict((u, i) for i, u in customers.insert_returning(
            cursor, [p["record"] for p in plans]))
        for p in plans:
            p["record"]["id"] = ids[p["record"]["uscc"]]
    contacts, tags, history = [], [], []
    for p in plans:
        cid = p["record"]["id"]
        for c in p["contacts"]:
            c["customer_id"] = cid
            contacts.append(c)
        tags += [{"customer_id": cid, "tag": t} for t in p["tags"]]
        payload = domain.history_payload(cid, 1, actor.label, when, "created", p["changes"])
        p["history_hash"] = domain.chain_hash(domain.GENESIS, payload)
        history.append({"customer_id": cid, "seq": 1, "operator_id": actor.label, "at": when,
                        "action": "created", "changes": p["changes"],
                        "prev_hash": domain.GENESIS, "hash": p["history_hash"]})
    if contact_ids and dialect.name == "postgresql" and len(contacts) == 1:
        # one round trip instead of three: psycopg2 sends the statements as one simple
        # query (one implicit unit inside our transaction) and returns the last result
        sqls, params = [], {}
        for tag, table, rows in (("t", repo.TAGS, tags), ("h", repo.HISTORY, history)):
            if rows:
                sql, p = raw_insert(table, dialect).multi_row(rows, tag)
                sqls.append(sql)
                params.update(p)
        sql, p = raw_insert(repo.CONTACTS, dialect, returning=("id",)).multi_row(contacts, "c")
        cursor.execute("; ".join(sqls + [sql]), {**params, **p})
        contacts[0]["id"] = cursor.fetchone()[0]
        _write_search(dialect, cursor, plans)
        return
    if contact_ids:
        one = raw_insert(repo.CONTACTS, dialect, returning=("id",))
        for c in contacts:
            one.execute(cursor, c)
            c["id"] = cursor.fetchone()[0]
    else:
        raw_insert(repo.CONTACTS, dialect).insert_many(cursor, contacts)
    raw_insert(repo.TAGS, dialect).insert_many(cursor, tags)
    raw_insert(repo.HISTORY, dialect).insert_many(cursor, history)
    _write_search(dialect, cursor, plans)


def _write_search(dialect, cursor, plans):
    """The new customers' search rows (``services.customers.search``)."""
    search.insert_raw(dialect, cursor, *search.rows_for_plans(plans))


def create(uow, actor, data, when):
    """One new customer → its ``to_output`` dict. Conflict if the USCC is taken."""
    return create_planned(uow, actor, prepare_create(actor, data, when), when)


def create_planned(uow, actor, plan, when):
    try:
        write_created(uow, actor, [plan], when, contact_ids=True)
    except IntegrityError:
        raise Conflict(*_DUPLICATE, code="DUPLICATE_USCC") from None
    return repo.plan_output(plan, actor)


def update(uow, actor, customer, changes, when):
    version = changes.pop("version", None)
    if version is not None and version != customer.version:
        raise Conflict("the customer was changed by someone else; reload and retry",
                       {"version": [f"stale: current version is {customer.version}"]},
                       code="STALE_VERSION")
    if customer.type == "lost" and "type" in changes:
        raise Conflict("a lost customer changes type only through reactivate")
    if "uscc" in changes:
        repo.ensure_uscc_free(uow.session, changes["uscc"], except_id=customer.id)
    if "contacts" in changes:
        changes["contacts"] = _contacts_or_error(changes["contacts"])
    previous_tier = customer.tier

    def mutate(c):
        for key in UPDATABLE:
            if key == "contacts" and key in changes:
                repo.set_contacts(c, changes["contacts"])
            elif key in changes:
                setattr(c, key, changes[key])
        if "name" in changes or "region" in changes:
            for k, v in names.keys(c.name, c.region).items():
                setattr(c, k, v)
    apply(uow, actor, customer, when, "updated", mutate)
    if {"influence", "cooperation_since"} & set(changes):
        recompute_tier(uow, actor, customer, when, previous_tier)
    return customer


def recompute_tier(uow, actor, customer, when, previous_tier=None):
    total, first = repo.orders_last_12_months(uow.session, customer.id, when)
    since = customer.cooperation_since
    if first is not None and (since is None or domain.local_date(first) < since):
        since = domain.local_date(first)
    tier = domain.compute_tier(total, domain.cooperation_years(since, domain.local_date(when)),
                               customer.influence)
    previous = previous_tier or customer.tier
    if tier != customer.tier:
        apply(uow, actor, customer, when, "tier_changed", lambda c: setattr(c, "tier", tier),
              event=None)
    if tier != previous:
        uow.emit("customer_tier_changed", repo.event_data(customer, previous_tier=previous), when)


def apply_order_event(uow, envelope):
    from services.common.actors import Actor
    system = Actor()
    data = envelope["data"]
    occurred = dt.datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))
    customer_id = repo.record_order(uow.session, data, occurred, envelope["type"])
    customer = uow.session.get(Customer, customer_id)
    if customer is not None and customer.merged_into_id is not None:
        # an order of a merged customer counts for the kept one (its ledger row moves)
        kept = uow.session.get(Customer, customer.merged_into_id)
        repo.move_order(uow.session, str(data.get("order_id")), kept.id)
        customer = kept
    if customer is None:
        return
    now = dt.datetime.now(dt.timezone.utc)
    if envelope["type"] == "order_placed" and customer.type == "potential":
        apply(uow, system, customer, max(now, occurred), "type_changed",
              lambda c: setattr(c, "type", domain.type_after_order(c.type)))
    recompute_tier(uow, system, customer, max(now, occurred))


# --- import -------------------------------------------------------------------
_FLAT_CONTACT = {"name": "contact_name", "title": "contact_title",
                 "mobile": "contact_mobile", "email": "contact_email"}


def row_to_data(row):
    """A flat CSV row → create_customer data (empty cells dropped)."""
    if not isinstance(row, dict):
        raise validation_error({"_row": "must be an object"})
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
    clean = {k: v for k, v in clean.items() if v not in (None, "")}
    data = {k: clean[k] for k in ("name", "uscc", "industry_code", "region", "scale",
                                  "annual_budget", "needs", "source_channel", "type",
                                  "owner_id") if k in clean}
    if "tags" in clean:
        data["tags"] = [t.strip() for t in str(clean["tags"]).replace(",", ";").split(";")
                        if t.strip()]
    contact = {k: clean[v] for k, v in _FLAT_CONTACT.items() if v in clean}
    contact["is_primary"] = True
    data["contacts"] = [contact]
    return data


def _flat_fields(fields):
    out = {}
    for key, msgs in fields.items():
        if key == "contacts" and isinstance(msgs, dict):
            for sub in msgs.values():
                for ck, cm in (sub.items() if isinstance(sub, dict) else ()):
                    out[_FLAT_CONTACT.get(ck, f"contact_{ck}")] = cm
        else:
            out[key] = msgs
    return out


_IMPORT_IN = CustomerInSchema()
_IMPORT_CHANGES = CustomerChangesSchema()


def _row_error(number, exc):
    return {"row": number, "fields": _flat_fields(exc.fields) or {"_row": [exc.message]}}


def import_rows(uow, actor, rows, when):
    """Set-based import of one chunk: every row is validated first (no I/O), one
    ``SELECT … WHERE uscc IN (…)`` finds the existing customers, the new ones are
    inserted with multi-row statements (customers, contacts, tags, history, outbox),
    existing ones are updated as ``update_customer`` would. A savepoint is used only
    where a statement fails: then that part is redone row by row so the failing rows
    are reported and the others land. Errors: ``[{row, fields}]`` as before."""
    with fewer_collections():  # services.common.gc_batch: 5-6 s CPU per 100k rows
        return _import_rows(uow, actor, rows, when)


def _import_rows(uow, actor, rows, when):
    errors = {}
    loaded = []  # (row number, data)
    for number, row in enumerate(rows, start=1):
        try:
            loaded.append((number, load(_IMPORT_IN, row_to_data(row))))
        except ValidationError as exc:
            errors[number] = _row_error(number, exc)
    usccs = list({data["uscc"] for _, data in loaded})
    existing = {}
    if usccs:
        found = uow.session.scalars(select(Customer).where(Customer.uscc.in_(usccs))).all()
        existing = {c.uscc: c for c in found}
    creates, updates, seen = [], [], set()
    for number, data in loaded:
        uscc = data["uscc"]
        if uscc in existing or uscc in seen:
            updates.append((number, data))  # a USCC repeated in the chunk updates the first
            continue
        try:
            creates.append((number, prepare_create(actor, dict(data), when)))
            seen.add(uscc)
        except (ValidationError, Conflict) as exc:
            errors[number] = _row_error(number, exc)
    created = _import_creates(uow, actor, creates, when, errors)
    probes = [(n, duplicates.probe(p["record"]["id"], p["record"]["name"], p["record"]["region"],
                                   p["contacts"], p["record"])) for n, p in creates
               if n not in errors]
    updated = 0
    for number, data in updates:
        try:
            with uow.session.begin_nested():
                customer = existing.get(data["uscc"]) or uow.session.scalar(
                    select(Customer).where(Customer.uscc == data["uscc"]))
                if customer is None:  # its create failed above: the row is reported
                    raise validation_error({"uscc": "could not be created"})
                _import_update(uow, actor, customer, data, when)
            updated += 1
            probes.append((number, duplicates.probe_of(customer)))
        except (ValidationError, Conflict) as exc:
            errors[number] = _row_error(number, exc)
    found = duplicates.find(uow.connection, [p for _, p in probes])
    return {"created": created, "updated": updated,
            "errors": [errors[n] for n in sorted(errors)],
            "duplicates": [dict(d, row=n) for (n, _), ds in zip(probes, found, strict=True)
                           for d in ds]}


def _import_creates(uow, actor, creates, when, errors):
    if not creates:
        return 0
    try:
        with uow.session.begin_nested():
            write_created(uow, actor, [p for _, p in creates], when)
        return len(creates)
    except (IntegrityError, DataError):
        pass  # some row does not fit (a USCC registered meanwhile): find it row by row
    created = 0
    for number, plan in creates:  # events are emitted only once a row's inserts succeeded
        plan["record"].pop("id", None)
        try:
            with uow.session.begin_nested():
                write_created(uow, actor, [plan], when)
            created += 1
        except IntegrityError:
            errors[number] = _row_error(number, Conflict(*_DUPLICATE, code="DUPLICATE_USCC"))
        except DataError:
            errors[number] = _row_error(number, validation_error(
                {"_row": "a value is too long for its column"}))
    return created


def _import_update(uow, actor, existing, data, when):
    if not actor.can_see(existing.owner_id):
        raise validation_error({"uscc": "already registered to another owner"})
    if existing.merged_into_id is not None:
        raise validation_error({"uscc": f"merged into customer {existing.merged_into_id}"})
    data = dict(data)
    data.pop("owner_id", None)
    tags = data.pop("tags", [])
    update(uow, actor, existing, load(_IMPORT_CHANGES, _dump_changes(data), partial=True), when)
    if tags:
        wanted = set(existing.tags) | set(tags)
        apply(uow, actor, existing, when, "tags_changed",
              lambda c, wanted=wanted: repo.set_tags(c, wanted))


def _dump_changes(data):
    """Loaded values back to wire form so the changes schema can load them again."""
    out = {}
    for k, v in data.items():
        if k == "contacts":
            out[k] = [{ck: (cv.isoformat() if isinstance(cv, dt.date) else cv)
                       for ck, cv in c.items()} for c in v]
        elif isinstance(v, dt.date):
            out[k] = v.isoformat()
        elif v is not None and k == "annual_budget":
            out[k] = str(v)
        else:
            out[k] = v
    return out
