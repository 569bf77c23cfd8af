"""What an export's headers and coded values read as: the page's language by default
(the same catalogue as the pages: 来源 / 展会, 状态 / 跟进中), or the codes themselves
(``?codes=1``: ``source`` / ``trade_show``) for programs that read the file."""

# column -> catalogue key of its header (the list pages' own headers where they have one)
HEADERS = {
    "id": "sales.export.id", "source": "sales.lead.source", "status": "sales.status",
    "customer_name": "sales.lead.customer_name", "contact_name": "sales.lead.contact_name",
    "contact_mobile": "sales.lead.contact_mobile", "contact_email": "sales.lead.contact_email",
    "region": "sales.lead.region", "industry_code": "sales.lead.industry_code",
    "campaign_id": "sales.lead.campaign_id", "campaign_name": "sales.export.campaign_name",
    "owner_id": "sales.owner", "created_at": "sales.created_at", "name": "sales.opp.name",
    "customer_id": "sales.order.customer_id", "stage": "sales.opp.stage",
    "probability": "sales.export.probability", "amount": "sales.opp.amount",
    "weighted_amount": "sales.opp.weighted",
    "expected_close_date": "sales.opp.expected_close_date",
    "closed_at": "sales.export.closed_at", "opportunity_id": "sales.order.opportunity_id",
    "paid_total": "sales.order.paid", "outstanding": "sales.order.outstanding",
    "delivery_date": "sales.order.delivery_date", "placed_at": "sales.export.placed_at",
}
HEADER_OVERRIDES = {"orders": {"id": "sales.order.id", "amount": "sales.order.amount"}}
# (kind, column) -> catalogue prefix of its coded values
VALUES = {
    ("leads", "source"): "sales.source.",
    ("leads", "status"): "sales.lead.status.",
    ("opportunities", "stage"): "sales.stage.",
    ("orders", "status"): "sales.order.status.",
}
SHEETS = {"leads": "sales.leads.title", "opportunities": "sales.export.opportunities",
          "orders": "sales.orders.title"}


def wants_codes(form):
    return form.value("codes").strip().lower() in ("1", "true", "yes")


class Labels:
    """Headers and values of one export: ``t`` the page's translator, or None for codes."""

    def __init__(self, kind, t=None):
        self.kind, self.t = kind, t

    def headers(self, columns):
        if self.t is None:
            return list(columns)
        own = HEADER_OVERRIDES.get(self.kind, {})
        return [self.t(own.get(c) or HEADERS.get(c, c)) for c in columns]

    def value(self, column, value):
        prefix = VALUES.get((self.kind, column))
        if self.t is None or prefix is None or value in (None, ""):
            return value
        said = self.t(prefix + str(value))
        return value if said == prefix + str(value) else said  # unknown code: as it is

    def row(self, columns, row):
        return [self.value(c, row.get(c)) for c in columns]

    def sheet(self):
        return self.kind if self.t is None else self.t(SHEETS[self.kind])[:31]
