"""Care tasks made before occasions were keyed by contact and festival date.

Until 2026-12 a birthday task was keyed ``birthday:<name>:<year>`` and a holiday task
``holiday:<English name>:<year of its first day off>``. Such a task stands for the new
occasion of the same plan, title and due date (each old task for one new occasion), so
that nothing made before the change is made again. Nothing is rewritten in the database:
old tasks keep their keys and fall out of the look-back window within a month.
"""
import re
from collections import Counter

from sqlalchemy import select

from services.service_desk.models import CareTask

_CURRENT = re.compile(r"^(?:birthday:(?:c|n)\d+(?:-\d+)?:\d{4}"
                      r"|holiday:[a-z_]+:\d{4}-\d{2}-\d{2})$")
_KINDS = ("birthday", "holiday")


def is_legacy(kind, occasion):
    return kind in _KINDS and not _CURRENT.match(occasion)


def slots(session, plan_ids):
    """Counter of (plan_id, title, due_date) held by old-keyed tasks of ``plan_ids``."""
    if not plan_ids:
        return Counter()
    rows = session.execute(select(CareTask.plan_id, CareTask.kind, CareTask.occasion,
                                  CareTask.title, CareTask.due_date).where(
        CareTask.plan_id.in_(plan_ids), CareTask.kind.in_(_KINDS))).all()
    return Counter((p, t, d) for p, k, o, t, d in rows if is_legacy(k, o))


def claim(held, plan_id, title, due_date):
    """True (and one fewer held) when an old task already stands for this occasion."""
    slot = (plan_id, title, due_date)
    if held.get(slot, 0) > 0:
        held[slot] -= 1
        return True
    return False
