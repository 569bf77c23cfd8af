"""When an event reached reporting: the relay's publish time (the
``nameko.crm_published_at`` header the kit's relay sets, handed to the worker as
context data) or, for a message without it, the time the worker started. The
event log's ``lag_seconds`` runs from there to the commit, so back-dated events
(``occurred_at`` months ago, e.g. ``make demo``'s history) do not read as a
stalled pipeline."""
import datetime as dt

from nameko.extensions import DependencyProvider

HEADER = "crm_published_at"


def origin(context_data, received_at):
    """The publish time from the worker's context data, if it is a sane aware ISO
    time not after ``received_at``; else ``received_at``."""
    raw = (context_data or {}).get(HEADER)
    if isinstance(raw, str):
        try:
            at = dt.datetime.fromisoformat(raw)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None and at <= received_at:
            return at.astimezone(dt.timezone.utc)
    return received_at


class Receipt(DependencyProvider):
    """``self.receipt`` in a worker: the origin of its event's lag (datetime, UTC)."""

    def get_dependency(self, worker_ctx):
        return origin(worker_ctx.context_data, dt.datetime.now(dt.timezone.utc))
