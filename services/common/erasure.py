"""Erasing a contact person's personal data everywhere (PIPL; a consumer's kit).

customers erases the contact and emits ``contact_erased`` with, instead of the values,
``sha256(salt + kind + ":" + value)`` of the name, mobile and email (``request``). Every
service that holds a copy finds it by hashing its own values with the event's salt
(``erase_rows``) and replaces them: names by ``[erased]``, mobiles, emails and birthdays
by NULL. The rows are changed through the ORM, so the audit trail records the erasure
(contact values are masked there: no entry has to change, the chain stays valid).

A row is the person's copy when its mobile or email matches, or its name matches and it
belongs to the same customer (a name alone is not enough on a row of no customer).
"""
import hashlib
import secrets

from sqlalchemy import or_, select

from services.common.audit import ERASED

KINDS = ("name", "mobile", "email")


def normalise(kind, value):
    if value is None:
        return None
    text = str(value).strip()
    if kind == "email":
        text = text.lower()
    return text or None


def digest(salt, kind, value):
    value = normalise(kind, value)
    if value is None:
        return None
    return hashlib.sha256(f"{salt}{kind}:{value}".encode()).hexdigest()


def request(customer_id, contact_id, values, erased_at):
    """The ``contact_erased`` payload for a contact's ``values`` {name, mobile, email}."""
    salt = secrets.token_hex(16)
    digests = {k: digest(salt, k, values.get(k)) for k in KINDS}
    return {"customer_id": int(customer_id), "contact_id": int(contact_id), "salt": salt,
            "digests": {k: v for k, v in digests.items() if v},
            "erased_at": erased_at.isoformat()}


def matches(data, kind, value):
    want = (data.get("digests") or {}).get(kind)
    return bool(want) and digest(data["salt"], kind, value) == want


def erase_rows(session, model, columns, data, customer_column="customer_id",
               without_customer=False):
    """Erase the person's copies in ``model``. ``columns``: {column: kinds it may hold}
    (e.g. {"contact_name": ("name",), "complainant_contact": ("mobile", "email")}).
    Rows of the event's customer, and with ``without_customer`` rows of no customer.
    Returns [(row, {column: old value})] of the rows changed."""
    cid = data["customer_id"]
    col = getattr(model, customer_column)
    cond = col == (str(cid) if getattr(col.type, "length", None) else cid)
    if without_customer:
        cond = or_(cond, col.is_(None))
    changed = []
    for row in session.scalars(select(model).where(cond)).all():
        strong = name_hit = False
        for column, kinds in columns.items():
            value = getattr(row, column)
            for kind in kinds:
                if value and matches(data, kind, value):
                    if kind == "name":
                        name_hit = True
                    else:
                        strong = True
        own = getattr(row, customer_column) is not None
        if not (strong or (name_hit and own)):
            continue
        old = {}
        for column, kinds in columns.items():
            value = getattr(row, column)
            if value in (None, ERASED):
                continue
            old[column] = value
            setattr(row, column, replacement(model, column, kinds))
        if old:
            changed.append((row, old))
    return changed


def replacement(model, column, kinds):
    """``[erased]`` where the column may not be NULL (or holds a name), else NULL."""
    nullable = model.__table__.c[column].nullable
    return ERASED if ("name" in kinds or not nullable) else None


def scrub_text(text, values):
    """``text`` with each of ``values`` (the erased person's own) replaced."""
    if not text:
        return text
    for v in sorted({str(v) for v in values if v and len(str(v)) >= 2}, key=len,
                    reverse=True):
        text = text.replace(v, ERASED)
    return text


def apply(db, envelope, erase):
    """The whole consumer: inbox claim and ``erase(session, data)`` in one transaction.
    False if already applied."""
    with db.uow() as uow:
        if uow.already_applied(envelope):
            return False
        erase(uow.session, envelope["data"])
        uow.commit()
    return True
