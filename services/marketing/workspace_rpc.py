"""marketing RPCs behind the marketing workspace (mixed into MarketingService): the
live audience count of a campaign form, customers found by name for registration
(id and name only), and campaign counts by state for the list's tabs."""
from sqlalchemy import func, select

from services.common.errors import Forbidden, validation_error
from services.common.peers import call_peer
from services.common.schemas import load
from services.common.service import declared_rpc
from services.marketing import domain
from services.marketing import repository as repo
from services.marketing.exceptions import EXPECTED
from services.marketing.models import Campaign
from services.marketing.schemas import AudienceSchema

_rpc = declared_rpc(EXPECTED)


def _may_plan(actor):
    if not (actor.is_manager or actor.department == repo.MARKETING):
        raise Forbidden("only the marketing department and managers plan campaigns")


class WorkspaceRpc:
    @_rpc
    def audience_count(self, audience):
        """How many customers the audience rules (tags_all, tags_any, type, tier,
        industry_code, region) match now → {count, estimate}; counted by customers'
        list_customers over the whole customer base, as launch resolves it."""
        actor = self.actor.get()
        _may_plan(actor)
        rules = load(AudienceSchema(), audience or {})
        result = call_peer(self.customers.proxy, "list_customers",
                           domain.customer_filters(rules), page=1, page_size=1,
                           config=self.config)
        return {"count": result["total"], "estimate": bool(result.get("total_is_estimate"))}

    @_rpc
    def find_customers(self, q, limit=10):
        """Customers whose name contains ``q`` → [{id, name, tier, region}] (no contact
        data): marketing registers a customer as a participant by name."""
        actor = self.actor.get()
        _may_plan(actor)
        if not isinstance(q, str) or not 1 <= len(q.strip()) <= 100:
            raise validation_error({"q": "1-100 characters"})
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise validation_error({"limit": "an integer from 1 to 50"})
        result = call_peer(self.customers.proxy, "list_customers", {"q": q.strip()}, page=1,
                           page_size=limit, config=self.config)
        return [{"id": c["id"], "name": c.get("name"), "tier": c.get("tier"),
                 "region": c.get("region")} for c in result["items"]]

    @_rpc
    def campaign_counts(self):
        """Campaigns you may see, counted by state → {state: n} (every state listed)."""
        actor = self.actor.get()
        stmt = select(Campaign.state, func.count()).group_by(Campaign.state)
        clause = repo.visible_clause(actor)
        if clause is not None:
            stmt = stmt.where(clause)
        with self.db.read_uow() as uow:
            counts = dict(uow.session.execute(stmt).all())
        return {state: counts.get(state, 0) for state in domain.STATES}
