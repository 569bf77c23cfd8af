"""Applying ``customers_merged`` to a service's own records (a consumer's kit).

Each consumer lists the columns that hold a customer id; ``repoint`` sets those of
the merged customer to the kept one. It is idempotent by construction (a second run
finds no row with the merged id), and the caller's inbox records the event in the
same transaction, so a redelivered or replayed event changes nothing.
"""
from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import aliased

from services.common import audit


def merged_ids(envelope):
    """(keep_id, merge_id) of a ``customers_merged`` envelope."""
    data = envelope["data"]
    return int(data["keep_id"]), int(data["merge_id"])


def repoint(session, targets, keep_id, merge_id):
    """``targets``: [(model, column name, unique_with)] — ``unique_with`` names the
    column that, with the customer id, is unique (e.g. campaign_id): rows whose kept
    twin already exists are left as they are. Ids of text columns are written as text.
    Returns {table: rows moved}."""
    moved = {}
    for model, column, unique_with in targets:
        col = getattr(model, column)
        as_text = getattr(col.type, "length", None) is not None
        keep, gone = (str(keep_id), str(merge_id)) if as_text else (keep_id, merge_id)
        cond = col == gone
        if unique_with:
            twin = aliased(model)
            cond = and_(cond, ~exists().where(
                getattr(twin, unique_with) == getattr(model, unique_with),
                getattr(twin, column) == keep))
        audited = getattr(model, "__audit__", None) and session.info.get("auditor")
        ids = session.scalars(select(model.id).where(cond)).all() if audited else ()
        result = session.execute(update(model).where(cond).values({column: keep})
                                 .execution_options(synchronize_session=False))
        moved[model.__tablename__] = result.rowcount
        audit.record_in_session(session, [  # services.common.audit
            {"record_type": model.__audit__, "record_id": i, "action": "customer_merged",
             "before": {column: gone}, "after": {column: keep}} for i in ids])
    return moved


def drop(session, model, column, merge_id):
    """Delete the rows still naming the merged customer (a copy the kept one replaces)."""
    col = getattr(model, column)
    gone = str(merge_id) if getattr(col.type, "length", None) is not None else merge_id
    session.execute(delete(model).where(col == gone)
                    .execution_options(synchronize_session=False))


def apply(db, envelope, targets, drops=()):
    """The whole consumer: inbox claim, ``repoint`` of ``targets``, ``drop`` of
    ``drops`` ([(model, column)]), in one transaction. False if already applied."""
    keep_id, merge_id = merged_ids(envelope)
    with db.uow() as uow:
        if uow.already_applied(envelope):
            return False
        repoint(uow.session, targets, keep_id, merge_id)
        for model, column in drops:
            drop(uow.session, model, column, merge_id)
        uow.commit()
    return True
