"""Merging two customer records of the same company (inside the caller's unit of work).

The kept record takes the merged one's contacts (as non-primary contacts when it has
a primary already), tags, attachments and order ledger; its modification log gets a
``merged`` entry (the contacts/tags diff plus ``merged_from``), the merged record's a
``merged_into`` entry. History rows are not rewritten (each log is a hash chain over
its customer id): ``get_history`` of the kept record lists the merged records' entries
with their own. The merged record stays as a tombstone (``merged_into_id``); every
per-customer call on it answers ``Merged`` with the kept id, and older tombstones that
pointed at it now point at the kept record.
"""
from sqlalchemy import select, update

from services.common.errors import Forbidden, validation_error
from services.customers import commands, domain, search
from services.customers import repository as repo
from services.customers.models import Attachment, Contact, Customer, HistoryEntry, OrderLedger


def merge(uow, actor, keep_id, merge_id, when):
    """Merge ``merge_id`` into ``keep_id`` → the kept ORM customer. Forbidden (staff),
    ValidationError (the same id), NotFound / Merged (either record)."""
    if not actor.is_manager:
        raise Forbidden("only managers may merge customers")
    if keep_id == merge_id:
        raise validation_error({"merge_id": "must be another customer than keep_id"})
    session = uow.session
    first, second = sorted((keep_id, merge_id))  # row locks in id order: no deadlock
    got = {cid: repo.get(session, cid, actor, for_update=True) for cid in (first, second)}
    keep, gone = got[keep_id], got[merge_id]
    before = repo.snapshot(keep)
    has_primary = any(c.is_primary for c in keep.contacts)
    tags = set(keep.tags) | set(gone.tags)
    moved = {"customer_id": keep.id, **({"is_primary": False} if has_primary else {})}
    uow.audit(_moved_entries(session, keep, gone, has_primary))  # set-based: not flushed
    session.execute(update(Contact).where(Contact.customer_id == gone.id).values(**moved))
    for model in (Attachment, OrderLedger):
        session.execute(update(model).where(model.customer_id == gone.id)
                        .values(customer_id=keep.id))
    session.execute(update(Customer).where(Customer.merged_into_id == gone.id)
                    .values(merged_into_id=keep.id))
    repo.set_tags(gone, ())
    session.flush()
    session.expire(keep, ["contacts"])
    session.expire(gone, ["contacts"])
    repo.set_tags(keep, tags)
    repo.refresh_completeness(keep)
    changes = domain.diff(before, repo.snapshot(keep), repo.SNAPSHOT_FIELDS)
    keep.updated_at = when
    repo.append_history(session, keep.id, actor.label, when, "merged",
                        changes + [{"field": "merged_from", "before": None, "after": gone.id}])
    gone.merged_into_id, gone.merged_at, gone.updated_at = keep.id, when, when
    repo.refresh_completeness(gone)
    repo.append_history(session, gone.id, actor.label, when, "merged_into",
                        [{"field": "merged_into", "before": None, "after": keep.id}])
    session.flush()
    search.reindex(session.connection(), [keep.id, gone.id])  # contacts and tags moved
    commands.recompute_tier(uow, actor, keep, when)  # the ledger moved with the orders
    if changes:
        uow.emit("customer_updated", repo.event_data(
            keep, changed_fields=[c["field"] for c in changes]), when)
    uow.emit("customers_merged", {"keep_id": keep.id, "merge_id": gone.id,
                                  "keep_owner_id": keep.owner_id,
                                  "merge_owner_id": gone.owner_id}, when)
    return keep


def _moved_entries(session, keep, gone, has_primary):
    """Audit entries (services.common.audit) for the rows the Core UPDATEs move, as an
    ORM flush would write them (only the changed columns, contact values masked):
    each contact and attachment of the merged record, and older tombstones re-pointed
    at the kept record (the merged record's own change is flushed by the ORM)."""
    entries = []
    for cid, primary in session.execute(select(Contact.id, Contact.is_primary).where(
            Contact.customer_id == gone.id).order_by(Contact.id)):
        before, after = {"customer_id": gone.id}, {"customer_id": keep.id}
        if has_primary and primary:
            before["is_primary"], after["is_primary"] = True, False
        entries.append({"record_type": Contact.__audit__, "record_id": cid,
                        "action": "customer_merged", "before": before,
                        "after_row": (Contact, after)})
    for aid in session.scalars(select(Attachment.id).where(
            Attachment.customer_id == gone.id).order_by(Attachment.id)):
        entries.append({"record_type": Attachment.__audit__, "record_id": aid,
                        "action": "customer_merged", "before": {"customer_id": gone.id},
                        "after_row": (Attachment, {"customer_id": keep.id})})
    for tid in session.scalars(select(Customer.id).where(
            Customer.merged_into_id == gone.id).order_by(Customer.id)):
        entries.append({"record_type": Customer.__audit__, "record_id": tid,
                        "action": "customer_merged", "before": {"merged_into_id": gone.id},
                        "after_row": (Customer, {"merged_into_id": keep.id})})
    return entries


def history_ids(session, customer_id):
    """The customer's id and those of every customer merged into it."""
    merged = session.scalars(select(Customer.id).where(
        Customer.merged_into_id == customer_id)).all()
    return [customer_id, *merged]


def history(session, customer_id):
    """The modification log of a customer and of the records merged into it, by time."""
    return session.scalars(select(HistoryEntry).where(
        HistoryEntry.customer_id.in_(history_ids(session, customer_id)))
        .order_by(HistoryEntry.at, HistoryEntry.customer_id, HistoryEntry.seq)).all()
