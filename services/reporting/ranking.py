"""Who the dashboard ranks, and the top / bottom of a department's scorecards.

Scorecards rank the *staff* of a department: employees the events show working
there, minus managers and admins (a manager who owns an opportunity is seen in
sales by the events, but is not sales staff). Managers are known from the
directory of users (``services.common.web.directory.DEV_USERS``, the dev
identity provider's users), config ``REPORTING_MANAGERS`` (ids) and anyone a
manager placed in the ``management`` department (``PUT /staff/<id>``).
"""
from services.common.web.directory import DEV_USERS

LEADERS = ("manager", "admin")


def managers(config, staff_rows=()):
    """Ids that are never ranked as staff."""
    out = {uid for uid, entry in DEV_USERS.items() if entry.get("role") in LEADERS}
    out |= set((config or {}).get("REPORTING_MANAGERS") or ())
    out |= {s["employee_id"] for s in staff_rows
            if s.get("manual_department") == "management" or s.get("department") == "management"}
    return out


def best_first(cards):
    """Scored cards, best first; equal scores by employee id (stable, reproducible)."""
    scored = [c for c in cards if c.get("score") is not None]
    return sorted(scored, key=lambda c: (-c["score"], c["employee_id"]))


def top_bottom(cards, n=5):
    """(top, bottom) of ``cards``: the top best first, the bottom worst first, never
    the same employee in both. With fewer than 2n scored cards they split the list:
    the top takes the better half (the odd one too), the bottom the rest."""
    ranked = best_first(cards)
    k = min(n, (len(ranked) + 1) // 2)
    top = ranked[:k]
    rest = ranked[k:]
    bottom = list(reversed(rest))[:min(n, len(rest))]
    return top, bottom
