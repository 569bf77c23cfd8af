"""Calls service_desk makes to other services, and its own timer and metrics.

``SystemRpcProxy`` calls as the trusted system (no actor travels): service
agents do not own customers, yet must check a ticket's customer exists and
read contacts' birthdays for care plans. Call it before opening a unit of work.
"""
import eventlet
from nameko.rpc import RpcProxy, ServiceProxy
from nameko.timer import Timer as NamekoTimer
from prometheus_client import Counter, Gauge

from services.common.actors import CONTEXT_KEY
from services.common.errors import NotFound

OPEN_TICKETS = Gauge("crm_tickets_open", "Tickets not yet resolved, by severity", ["severity"])
SLA_BREACHES = Counter("crm_ticket_sla_breaches_total", "SLA breaches reported",
                       ["severity", "clock"])


class _WithoutActor:
    """A worker context whose context data carries no actor (a system call)."""

    def __init__(self, worker_ctx):
        self._ctx = worker_ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    @property
    def context_data(self):
        return {k: v for k, v in self._ctx.context_data.items() if k != CONTEXT_KEY}


class SystemRpcProxy(RpcProxy):
    def get_dependency(self, worker_ctx):
        return ServiceProxy(_WithoutActor(worker_ctx), self.target_service,
                            self.rpc_reply_listener, **self.options)


def fetch_customer(proxy, customer_id, timeout):
    """customers.get_customer as system → the customer dict, or None if unknown."""
    try:
        with eventlet.Timeout(timeout):
            return proxy.get_customer(customer_id)
    except NotFound:
        return None


class Timer(NamekoTimer):
    """nameko's @timer whose interval can be overridden by a config key
    (``SLA_CHECK_INTERVAL``) — tests run the SLA scan every fraction of a second."""

    def __init__(self, interval, config_key=None, **kwargs):
        self.config_key = config_key
        super().__init__(interval, **kwargs)

    def setup(self):
        if self.config_key and self.container.config.get(self.config_key):
            self.interval = float(self.container.config[self.config_key])


timer = Timer.decorator
