"""Customer and campaign names for sales' lists, asked of their owners in one call per
page (never one per row): ``customers.customer_names(ids)`` and
``marketing.campaign_names(ids)`` as the system, for the ids of the rows the caller may
already see (so a user learns only the names on their own rows).

Why a call and not a copy kept from events: the names stay current (a renamed customer,
a campaign's theme edited before launch — which no event carries), nothing has to be
back-filled for the orders and leads made before the copy existed, and no new event
consumer is needed; one batched call per page of ≤ 100 rows is a few milliseconds. A
name is decoration: when the owner is slow or down (``NAMES_TIMEOUT``) the list answers
anyway with ``None`` and the page shows the number, as before.
"""
import logging

import eventlet

log = logging.getLogger(__name__)
NAMES_TIMEOUT = 2.0  # s


def _ask(proxy, method, ids):
    ids = sorted({str(i) for i in ids if i not in (None, "")})
    if not ids:
        return {}
    timer = eventlet.Timeout(NAMES_TIMEOUT)
    try:
        return getattr(proxy, method)(ids) or {}
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        log.warning("%s.%s did not answer within %g s: names left out", proxy.service_name,
                    method, NAMES_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - a name is decoration: the list still answers
        log.warning("%s.%s failed (%s): names left out", proxy.service_name, method, exc)
    finally:
        timer.cancel()
    return {}


def name_customers(proxy, items, key="customer_id", into="customer_name"):
    """Set ``item[into]`` to the customer's name (None if unknown) on every item."""
    names = _ask(proxy, "customer_names", [i.get(key) for i in items])
    for item in items:
        item[into] = names.get(str(item.get(key))) if item.get(key) is not None else None
    return items


def name_campaigns(proxy, rows, key="campaign_id", into="campaign_name"):
    """Set ``row[into]`` to the campaign's theme (None if unknown) on every row."""
    names = _ask(proxy, "campaign_names", [r.get(key) for r in rows])
    for row in rows:
        row[into] = names.get(str(row.get(key))) if row.get(key) is not None else None
    return rows
