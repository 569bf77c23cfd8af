"""The actor (who is calling) carried in nameko context data through every hop.

Gateways put the verified JWT's actor into the worker context; nameko copies
context data into the headers of every RPC the worker makes, so the owning
service sees the same actor. No actor = a trusted system call.
"""
import datetime as dt
import json

from nameko.extensions import DependencyProvider

from services.common.errors import Forbidden, NotFound, validation_error

CONTEXT_KEY = "crm_actor"
MANAGER_ROLES = {"manager", "admin"}


class Actor:
    def __init__(self, data=None):
        data = data or {}
        self.id = data.get("id")
        self.roles = set(data.get("roles") or ())
        self.department = data.get("department")
        self.name = data.get("name")
        self.region = data.get("region")

    @property
    def is_system(self):
        return self.id is None

    @property
    def is_manager(self):
        return self.is_system or bool(self.roles & MANAGER_ROLES)

    @property
    def is_admin(self):
        return self.is_system or "admin" in self.roles

    @property
    def label(self):
        return self.id or "system"

    def to_dict(self):
        return {"id": self.id, "roles": sorted(self.roles), "department": self.department,
                "name": self.name, "region": self.region}

    # --- access rules: staff own, managers all, denial = not found -----------
    def can_see(self, owner_id):
        return self.is_manager or (owner_id is not None and owner_id == self.id)

    def ensure_visible(self, owner_id, what="record"):
        if not self.can_see(owner_id):
            raise NotFound(f"{what} not found")

    def owner_scope(self):
        """None for managers/system (see all), else the staff member's own id."""
        return None if self.is_manager else self.id

    def resolve_at(self, at):
        """Honour ``at`` (historical import) only for system/admin callers."""
        if at is None:
            return dt.datetime.now(dt.timezone.utc)
        if not self.is_admin:
            raise Forbidden("only system or admin callers may set 'at'")
        try:
            value = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        except ValueError:
            raise validation_error({"at": "must be an ISO-8601 date-time"}) from None
        if value.tzinfo is None:
            raise validation_error({"at": "must include a timezone offset"})
        return value.astimezone(dt.timezone.utc)


def actor_from_context(context_data):
    raw = (context_data or {}).get(CONTEXT_KEY)
    if not raw:
        return Actor()
    return Actor(json.loads(raw) if isinstance(raw, str) else raw)


class CurrentActor(DependencyProvider):
    """Injects the calling Actor; gateways also use it to set the actor."""

    def get_dependency(self, worker_ctx):
        return _ActorAccess(worker_ctx)


class _ActorAccess:
    def __init__(self, worker_ctx):
        self._ctx = worker_ctx

    def get(self):
        return actor_from_context(self._ctx.data)

    def set(self, actor_dict):
        self._ctx.data[CONTEXT_KEY] = json.dumps(actor_dict, sort_keys=True)
