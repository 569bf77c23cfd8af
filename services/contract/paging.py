"""The lists that take a ``cursor`` (keyset paging, issue 20): the one place they are
declared (docs/KIT.md "Lists", docs/performance.md).

Each answers ``{items, total, page, page_size, next_cursor, total_is_estimate}``; pass
``next_cursor`` back as ``cursor`` (same filters) for the rows after the last one shown,
in the list's order, until it is ``null``. ``page`` keeps working for small results.
``total`` is exact up to 1,000 matches, else an estimate (``total_is_estimate``). A
cursor the list did not return (or one made for other filters) is a ValidationError
naming ``cursor`` (HTTP 422). Over HTTP the same lists take ``?cursor=``.
"""

# service → {RPC method: (its order, the JSON route that takes ?cursor=)}
CURSOR_LISTS = {
    "customers": {
        "list_customers": ("rank/sort, then id", "GET /customers"),
    },
    "sales": {
        "list_leads": ("id", "GET /leads"),
        "list_opportunities": ("id", "GET /opportunities"),
        "list_orders": ("id", "GET /orders"),
        "list_follow_ups": ("due_at, then id", "GET /follow-ups"),
        "list_activities": ("id", "GET /opportunities/{opportunity_id}/activities"),
        "board_column": ("id (one stage's cards; pipeline_board takes cursors "
                         "{stage: cursor})", "GET /pipeline/columns/{stage}"),
    },
    "service_desk": {
        "list_tickets": ("id desc, or sort=due", "GET /tickets"),
        "list_care_plans": ("id", "GET /care-plans"),
        "list_faqs": ("id", "GET /faqs"),
    },
    "marketing": {
        "list_campaigns": ("id desc (newest first)", "GET /campaigns"),
        "list_participants": ("id", "GET /campaigns/{campaign_id}/participants"),
        "get_audience": ("customer_id", "GET /campaigns/{campaign_id}/audience"),
        "list_outreach": ("id", "GET /campaigns/{campaign_id}/outreach"),
    },
    "reporting": {
        "churn_watchlist": ("risk desc, then customer_id (scored at the first page's "
                            "time)", "GET /churn-watchlist"),
    },
}


def takes_cursor(service, method):
    return method in CURSOR_LISTS.get(service, {})
