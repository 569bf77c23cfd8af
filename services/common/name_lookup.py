"""Names by ids in one query: the batch look-up a service answers for another's list
page (``customers.customer_names``, ``marketing.campaign_names``) so a page of 20 rows
costs one call, never one per row.

    names = name_lookup.names_by_id(session, Customer.id, Customer.name, ids, where)
    # -> {"4": "上海某某有限公司", ...}: ids as strings (they cross JSON); unknown ids and
    #    those ``where`` hides are left out

The ids are checked by ``parse_ids`` (a list of at most ``MAX_IDS``; entries that are not
whole numbers are skipped: another service's id may be any text, and no such record
exists here).
"""
from sqlalchemy import select

from services.common.errors import ValidationError

MAX_IDS = 500


def parse_ids(ids):
    if not isinstance(ids, (list, tuple)):
        raise ValidationError("Invalid input", {"ids": ["must be a list of ids"]})
    if len(ids) > MAX_IDS:
        raise ValidationError("Invalid input", {"ids": [f"at most {MAX_IDS} ids"]})
    out = set()
    for raw in ids:
        if isinstance(raw, bool):
            continue
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            continue
        if 0 < value < 2 ** 63:
            out.add(value)
    return sorted(out)


def names_by_id(session, id_column, name_column, ids, where=None):
    if not ids:
        return {}
    stmt = select(id_column, name_column).where(id_column.in_(ids))
    if where is not None:
        stmt = stmt.where(where)
    return {str(i): name for i, name in session.execute(stmt).all()}
