"""What every domain service has, in one place: the calling actor, config,
metrics (served on METRICS_PORT), dead-letter-queue depth, and the decorator
for RPC methods whose declared errors are the caller's fault, not alerts.

    class SalesService(DomainService):
        name = "sales"
        db = Database(Base)

        @_rpc
        def create_lead(self, data, at=None): ...
"""
from nameko.dependency_providers import Config
from nameko.rpc import rpc

from services.common.actors import CurrentActor
from services.common.handlers import DeadLetterMonitor
from services.common.metrics import Metrics


def declared_rpc(expected):
    """An ``@rpc`` decorator with ``expected_exceptions=expected``."""

    def decorate(fn):
        return rpc(expected_exceptions=expected)(fn)

    return decorate


class DomainService:
    actor = CurrentActor()
    config = Config()
    metrics = Metrics()
    dlq_monitor = DeadLetterMonitor()
