"""Calls one service makes to another, from inside a nameko worker.

    customers = SystemRpcProxy("customers")          # as this service (system principal)
    customers = RpcProxy("customers")                # on behalf of the caller

    customer = call_peer(self.customers, "get_customer", 7, config=self.config)
    customer = get_or_none(self.customers, "get_customer", 7, config=self.config)

``call_peer`` bounds the call at 80 % of ``RPC_TIMEOUT`` (so this service still
answers its own caller before the caller gives up) and turns silence into the
declared ``ServiceUnavailable`` (HTTP 503 at a gateway). Call peers before
opening a unit of work, never inside one.
"""
import eventlet
from nameko.rpc import RpcProxy, ServiceProxy

from services.common.bus_identity import act_as_service
from services.common.errors import NotFound, ServiceUnavailable

SHARE_OF_CALLER_TIMEOUT = 0.8


class _AsService:
    """A worker context whose context data carries this service's own identity
    (its service principal's token) instead of the caller's."""

    def __init__(self, worker_ctx, config, service):
        self._ctx = worker_ctx
        self._config = config
        self._service = service

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    @property
    def context_data(self):
        return act_as_service(dict(self._ctx.context_data), self._config, self._service)


class SystemRpcProxy(RpcProxy):
    """nameko's ``RpcProxy`` whose calls carry this service's own verified identity
    (role ``system``), not the caller's: e.g. service_desk reading a customer its
    agent does not own."""

    def get_dependency(self, worker_ctx):
        return ServiceProxy(_AsService(worker_ctx, self.container.config,
                                       self.container.service_name),
                            self.target_service, self.rpc_reply_listener, **self.options)


def peer_timeout(config):
    return float(config.get("RPC_TIMEOUT", 10)) * SHARE_OF_CALLER_TIMEOUT


def call_peer(proxy, method, *args, config, **kwargs):
    """``proxy.<method>(*args, **kwargs)`` bounded by ``peer_timeout(config)``;
    a peer that does not answer → ``ServiceUnavailable``."""
    timeout = peer_timeout(config)
    try:
        with eventlet.Timeout(timeout):
            return getattr(proxy, method)(*args, **kwargs)
    except eventlet.Timeout:
        raise ServiceUnavailable(
            f"the {proxy.service_name} service did not answer within {timeout:g} s; "
            "try again") from None


def get_or_none(proxy, method, *args, config, **kwargs):
    """``call_peer`` where the peer's ``NotFound`` means None."""
    try:
        return call_peer(proxy, method, *args, config=config, **kwargs)
    except NotFound:
        return None
