"""marketing's view of customers: always through customers' RPC, never its DB.

Audience resolution and participant look-ups are made as the marketing service
(a trusted system call, no actor): a campaign targets the company's customer
base, not the caller's own book, and customers would otherwise scope a
marketing employee to the (usually zero) customers they own. Only non-PII
fields are kept from what comes back (contacts are read for outreach and the
primary contact's name, never stored in events).
"""
from services.common.peers import SystemRpcProxy, call_peer, get_or_none
from services.marketing import domain

PAGE_SIZE = 100
MAX_AUDIENCE = 20_000


class CustomersClient:
    """The calls marketing makes to customers, on a nameko proxy (one shared
    reply queue per service process, each call bounded by ``call_peer``)."""

    def __init__(self, proxy, config):
        self.proxy = proxy
        self.config = config

    def resolve_audience(self, audience):
        """Every customer matching the filter, paged through list_customers (page_size 100)
        → snapshot rows (non-PII)."""
        filters = domain.customer_filters(audience)
        rows, page, cursor = [], 1, None
        while True:
            # by next_cursor when customers answers one (its total can be an estimate
            # above 1,000 matches: counting pages from it could stop early)
            paging = {"cursor": cursor} if cursor else {"page": page}
            result = call_peer(self.proxy, "list_customers", filters, page_size=PAGE_SIZE,
                               config=self.config, **paging)
            rows.extend(domain.snapshot_row(c) for c in result["items"])
            if not result["items"] or len(rows) >= MAX_AUDIENCE:
                return rows
            if "next_cursor" in result:
                cursor = result["next_cursor"]
                if not cursor:
                    return rows
                continue
            if page >= domain.pages_needed(result["total"], PAGE_SIZE):
                return rows
            page += 1

    def get_customer(self, customer_id):
        """The customer, or None if customers does not know it."""
        return get_or_none(self.proxy, "get_customer", customer_id, config=self.config)

    def get_customers(self, customer_ids):
        return {cid: self.get_customer(cid) for cid in customer_ids}


class Customers(SystemRpcProxy):
    """Injects a CustomersClient over a system (actor-less) proxy to customers
    (replace it in unit tests)."""

    def __init__(self, **options):
        super().__init__("customers", **options)

    def get_dependency(self, worker_ctx):
        return CustomersClient(super().get_dependency(worker_ctx), self.container.config)
