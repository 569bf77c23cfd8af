"""customers' write operations: create, update, import, order events.

Each runs inside the caller's unit of work, records the modification log and
emits its events to the outbox; nothing here commits.
"""
import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.errors import Conflict, ValidationError, validation_error
from services.common.schemas import load
from services.customers import domain
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
    if event:
        uow.emit(event, repo.event_data(customer, changed_fields=[c["field"] for c in changes]),
                 when)
    return changes


def create(uow, actor, data, when):
    contacts = _contacts_or_error(data.pop("contacts"))
    tags = data.pop("tags", [])
    data["owner_id"] = _owner_for(actor, data.get("owner_id"))
    repo.ensure_uscc_free(uow.session, data["uscc"])
    customer = Customer(**data, created_at=when, updated_at=when, tier="normal")
    repo.set_contacts(customer, contacts)
    repo.set_tags(customer, tags)
    customer.tier = domain.compute_tier(
        0, domain.cooperation_years(customer.cooperation_since, when.date()), customer.influence)
    repo.refresh_completeness(customer)
    uow.session.add(customer)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict("a customer with this unified social credit code already exists",
                       {"uscc": ["already registered"]}, code="DUPLICATE_USCC") from None
    changes = domain.diff({}, repo.snapshot(customer), repo.SNAPSHOT_FIELDS)
    repo.append_history(uow.session, customer.id, actor.label, when, "created", changes)
    uow.emit("customer_created", repo.event_data(customer), when)
    return customer


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
    apply(uow, actor, customer, when, "updated", mutate)
    if {"influence", "cooperation_since"} & set(changes):
        recompute_tier(uow, actor, customer, when, previous_tier)
    return customer


def recompute_tier(uow, actor, customer, when, previous_tier=None):
    total, first = repo.orders_last_12_months(uow.session, customer.id, when)
    since = customer.cooperation_since
    if first is not None and (since is None or first.date() < since):
        since = first.date()
    tier = domain.compute_tier(total, domain.cooperation_years(since, when.date()),
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


def import_rows(uow, actor, rows, when):
    created = updated = 0
    errors = []
    for number, row in enumerate(rows, start=1):
        try:
            data = load(CustomerInSchema(), row_to_data(row))
            with uow.session.begin_nested():
                existing = uow.session.scalar(select(Customer).where(Customer.uscc == data["uscc"]))
                if existing is None:
                    create(uow, actor, data, when)
                    created += 1
                    continue
                if not actor.can_see(existing.owner_id):
                    raise validation_error({"uscc": "already registered to another owner"})
                data.pop("owner_id", None)
                tags = data.pop("tags", [])
                update(uow, actor, existing, load(CustomerChangesSchema(), _dump_changes(data),
                                                  partial=True), when)
                if tags:
                    wanted = set(existing.tags) | set(tags)
                    apply(uow, actor, existing, when, "tags_changed",
                          lambda c, wanted=wanted: repo.set_tags(c, wanted))
                updated += 1
        except (ValidationError, Conflict) as exc:
            errors.append({"row": number, "fields": _flat_fields(exc.fields) or
                           {"_row": [exc.message]}})
    return {"created": created, "updated": updated, "errors": errors}


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
