"""The actor (who is calling) carried in nameko context data through every hop.

Gateways put the verified JWT into the worker context (``authorization``:
``Bearer <jwt>``) with its actor; nameko copies context data into the headers of
every RPC the worker makes. The receiving service trusts neither: its RPC
entrypoint verifies the token and replaces ``crm_actor`` with what the token
says (``services.common.bus_identity``), before any access rule runs. Event
handlers and timers act as their own service principal.

``Actor()`` built in code is the trusted system (code that means it says so);
context data without an actor is an anonymous caller, trusted with nothing.
"""
import datetime as dt
import json

from nameko.extensions import DependencyProvider

from services.common.errors import Forbidden, NotFound, validation_error

CONTEXT_KEY = "crm_actor"
AUTH_KEY = "authorization"  # "Bearer <jwt>": the verifiable identity of the call
MANAGER_ROLES = {"manager", "admin"}


class Actor:
    def __init__(self, data=None):
        data = data or {}
        self.id = data.get("id")
        self.roles = set(data.get("roles") or ())
        self.department = data.get("department")
        self.name = data.get("name")
        self.region = data.get("region")
        self.service = data.get("service")  # a service principal's name
        self.anonymous = bool(data.get("anonymous"))

    @property
    def is_system(self):
        return self.id is None and not self.anonymous

    @property
    def is_manager(self):
        return self.is_system or bool(self.roles & MANAGER_ROLES)

    @property
    def is_admin(self):
        return self.is_system or "admin" in self.roles

    @property
    def label(self):
        return self.id or ("anonymous" if self.anonymous else "system")

    def to_dict(self):
        out = {"id": self.id, "roles": sorted(self.roles), "department": self.department,
               "name": self.name, "region": self.region}
        if self.service:
            out["service"] = self.service
        if self.anonymous:
            out["anonymous"] = True
        return out

    # --- access rules: staff own, managers all, denial = not found -----------
    def can_see(self, owner_id):
        return self.is_manager or (owner_id is not None and owner_id == self.id)

    def ensure_visible(self, owner_id, what="record"):
        if not self.can_see(owner_id):
            raise NotFound(f"{what} not found")

    def owner_scope(self):
        """None for managers/system (see all), else the staff member's own id."""
        if self.anonymous:
            raise Forbidden("sign-in required")
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


ANONYMOUS = {"id": None, "roles": [], "anonymous": True}


def actor_from_context(context_data):
    """The actor of a worker's context data; none there = anonymous (never system)."""
    raw = (context_data or {}).get(CONTEXT_KEY)
    if not raw:
        return Actor(ANONYMOUS)
    data = json.loads(raw) if isinstance(raw, str) else raw
    return Actor(data if isinstance(data, dict) and data else ANONYMOUS)


class CurrentActor(DependencyProvider):
    """Injects the calling Actor; gateways also use it to set the actor."""

    def get_dependency(self, worker_ctx):
        return _ActorAccess(worker_ctx)


class _ActorAccess:
    def __init__(self, worker_ctx):
        self._ctx = worker_ctx

    def get(self):
        return actor_from_context(self._ctx.data)

    def set(self, actor_dict, token=None):
        """Act as ``actor_dict`` (verified by the caller) and, with ``token`` (the JWT
        it was verified from), forward that identity on every RPC this worker makes."""
        self._ctx.data[CONTEXT_KEY] = json.dumps(actor_dict, sort_keys=True)
        if token:
            self._ctx.data[AUTH_KEY] = f"Bearer {token}"
