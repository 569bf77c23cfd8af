"""Links from a customer to its records in the other workspaces.

The URL shapes are agreed in docs/WEB_KIT.md ('cross-links'; first written in
/tmp/crm/crosslinks.md): each workspace lists a customer's records under its
own path with ``?customer_id=<id>``."""
from urllib.parse import urljoin

from services.common.web import directory

LINKS = (  # (message key, workspace, path)
    ("customers.links.leads", "sales", "/app/leads"),
    ("customers.links.opportunities", "sales", "/app/pipeline"),
    ("customers.links.orders", "sales", "/app/orders"),
    ("customers.links.tickets", "service_desk", "/app/tickets"),
    ("customers.links.campaigns", "marketing", "/app/campaigns"),
)


def for_customer(config, customer_id):
    """[(message key, url)] for the detail page."""
    return [(key, urljoin(directory.workspace_url(config, svc), path)
             + f"?customer_id={int(customer_id)}")
            for key, svc, path in LINKS]
