"""marketing's view of customers: always through customers' RPC, never its DB.

Audience resolution and participant look-ups are made as the marketing service
(a trusted system call, no actor): a campaign targets the company's customer
base, not the caller's own book, and customers would otherwise scope a
marketing employee to the (usually zero) customers they own. Only non-PII
fields are kept from what comes back (contacts are read for outreach and the
primary contact's name, never stored in events).
"""
from nameko.extensions import DependencyProvider

from services.common.cli.rpc_client import cluster
from services.common.errors import NotFound
from services.marketing import domain

PAGE_SIZE = 100
MAX_AUDIENCE = 20_000


class CustomersClient:
    def __init__(self, config):
        self.config = config
        self.timeout = float(config.get("RPC_TIMEOUT", 10))

    def resolve_audience(self, audience):
        """Every customer matching the filter, paged through list_customers (page_size 100)
        → snapshot rows (non-PII)."""
        filters = domain.customer_filters(audience)
        rows, page = [], 1
        with cluster(self.config, None, self.timeout) as proxy:
            while True:
                result = proxy.customers.list_customers(filters, page=page, page_size=PAGE_SIZE)
                rows.extend(domain.snapshot_row(c) for c in result["items"])
                last = domain.pages_needed(result["total"], PAGE_SIZE)
                if not result["items"] or page >= last or len(rows) >= MAX_AUDIENCE:
                    return rows
                page += 1

    def get_customer(self, customer_id):
        """The customer, or None if customers does not know it."""
        with cluster(self.config, None, self.timeout) as proxy:
            try:
                return proxy.customers.get_customer(customer_id)
            except NotFound:
                return None

    def get_customers(self, customer_ids):
        out = {}
        if not customer_ids:
            return out
        with cluster(self.config, None, self.timeout) as proxy:
            for cid in customer_ids:
                try:
                    out[cid] = proxy.customers.get_customer(cid)
                except NotFound:
                    out[cid] = None
        return out


class Customers(DependencyProvider):
    """Injects a CustomersClient (replace it in unit tests)."""

    def get_dependency(self, worker_ctx):
        return CustomersClient(self.container.config)
