"""Erasing a contact person's personal data (PIPL): the contact's name, mobile, email
and birthday, in the contact row, the search index and the modification log, then
``contact_erased`` so every other service erases its copies
(``services.common.erasure``).

The modification log holds contacts as they were (names and birthdays in clear,
mobiles and emails masked): the entries that name the person are rewritten and the
log's hash chain is computed again from the first of them; the audit trail (keyed,
outside the log) records that re-chaining with the new hashes, so ``verify_history``
still says valid, and any other rewrite still does not.
"""
from sqlalchemy import select, update

from services.common import erasure
from services.common.audit import ERASED
from services.common.errors import Forbidden, NotFound
from services.common.identifiers import mask_email, mask_mobile
from services.customers import domain, merge, search
from services.customers import repository as repo
from services.customers.models import HistoryEntry

PII = ("name", "mobile", "email", "birthday")


def erase_contact(uow, actor, customer, contact_id, when):
    """→ ``{"customer_id", "contact_id", "erased", "history_entries_rewritten"}``."""
    if not actor.is_manager:
        raise Forbidden("only managers erase a contact's personal data")
    contact = next((c for c in customer.contacts if c.id == contact_id), None)
    if contact is None:
        raise NotFound("contact not found")
    if contact.name == ERASED and not (contact.mobile or contact.email or contact.birthday):
        return {"customer_id": customer.id, "contact_id": contact_id, "erased": False,
                "history_entries_rewritten": 0}
    values = {"name": contact.name, "mobile": contact.mobile, "email": contact.email}
    birthday = contact.birthday
    payload = erasure.request(customer.id, contact.id, values, when)
    rewritten = scrub_history(uow, merge.history_ids(uow.session, customer.id), values,
                              birthday)
    contact._audit_action = "erased"
    contact.name, contact.mobile, contact.email, contact.birthday = ERASED, None, None, None
    repo.refresh_completeness(customer)
    customer.updated_at = when
    repo.append_history(uow.session, customer.id, actor.label, when, "contact_erased",
                        [{"field": "contacts", "before": None,
                          "after": {"contact_id": contact.id, "erased": list(PII)}}])
    uow.session.flush()
    search.reindex(uow.session.connection(), [customer.id])
    uow.emit("contact_erased", payload, when)
    uow.emit("customer_updated", repo.event_data(customer, changed_fields=["contacts"]), when)
    return {"customer_id": customer.id, "contact_id": contact.id, "erased": True,
            "history_entries_rewritten": rewritten}


def _scrub(value, values, masked, birthday):
    if isinstance(value, list):
        return [_scrub(v, values, masked, birthday) for v in value]
    if isinstance(value, dict):
        out = {k: _scrub(v, values, masked, birthday) for k, v in value.items()}
        if value.get("name") == values.get("name") or (
                value.get("mobile") and value.get("mobile") in masked):
            for k in PII:
                if k in out:
                    out[k] = ERASED if k == "name" else None
        return out
    if isinstance(value, str):
        if birthday and value == str(birthday):
            return None
        if value in masked:
            return None
        return erasure.scrub_text(value, [values.get("name"), values.get("mobile"),
                                          values.get("email")])
    return value


def scrub_history(uow, customer_ids, values, birthday):
    """Rewrite the log entries naming the person and re-chain each log from there."""
    conn = uow.session.connection()
    t = HistoryEntry.__table__
    masked = {m for m in (mask_mobile(values.get("mobile")), mask_email(values.get("email")),
                          values.get("mobile"), values.get("email")) if m}
    total = 0
    for cid in customer_ids:
        rows = conn.execute(select(t).where(t.c.customer_id == cid).order_by(t.c.seq)) \
            .mappings().all()
        prev, dirty, hashes = domain.GENESIS, False, {}
        for r in rows:
            changes = _scrub(r["changes"], values, masked, birthday)
            if changes != r["changes"]:
                dirty = True
                total += 1
            if dirty:
                payload = domain.history_payload(r["customer_id"], r["seq"], r["operator_id"],
                                                 r["at"], r["action"], changes)
                new = domain.chain_hash(prev, payload)
                conn.execute(update(t).where(t.c.id == r["id"]).values(
                    changes=changes, prev_hash=prev, hash=new))
                hashes[str(r["seq"])] = new
                prev = new
            else:
                prev = r["hash"]
        if hashes:
            uow.audit([{"record_type": "customer_history", "record_id": cid,
                        "action": "rechained", "before": None,
                        "after": {"reason": "contact_erased", "hashes": hashes}}])
    return total
