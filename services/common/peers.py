"""Calls one service makes to another, from inside a nameko worker.

    customers = SystemRpcProxy("customers")          # trusted system call, no actor
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

from services.common.actors import CONTEXT_KEY
from services.common.errors import NotFound, ServiceUnavailable

SHARE_OF_CALLER_TIMEOUT = 0.8


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
    """nameko's ``RpcProxy`` whose calls carry no actor: the callee treats them as
    the trusted system (e.g. service_desk reading a customer its agent does not own)."""

    def get_dependency(self, worker_ctx):
        return ServiceProxy(_WithoutActor(worker_ctx), self.target_service,
                            self.rpc_reply_listener, **self.options)


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
