"""marketing's names-by-ids RPC (mixed into MarketingService): campaign themes for
another service's list page in one call (sales' channel analysis names its campaigns)."""
from services.common import name_lookup
from services.common.service import declared_rpc
from services.marketing import repository as repo
from services.marketing.exceptions import EXPECTED
from services.marketing.models import Campaign

_rpc = declared_rpc(EXPECTED)


class CampaignNames:
    @_rpc
    def campaign_names(self, ids):
        """Themes of up to 500 campaigns → {id (as a string): theme}: those the caller
        may see (managers, marketing and system callers all, other staff their own);
        unknown ids (or ids that are not numbers) are left out. Read-only."""
        actor = self.actor.get()
        ids = name_lookup.parse_ids(ids)
        with self.db.read_uow() as ro:
            return name_lookup.names_by_id(ro.session, Campaign.id, Campaign.theme, ids,
                                           repo.visible_clause(actor))
