"""Verified identity on every RPC hop (ARCHITECTURE.md §5 Additions).

A call's identity is ``authorization: "Bearer <jwt>"`` in its nameko context data
(nameko sends context data as ``nameko.*`` message headers and copies it into
every RPC a worker makes, so nested calls carry it on). Each service's RPC
entrypoint (``services.common.service.ResilientRpc``) calls ``authenticate``
before the worker exists: a verified token becomes the worker's actor (whatever
``crm_actor`` the caller sent is replaced); no token is anonymous, accepted only
by the methods in ``services.contract.public``; anything else is refused with
the declared ``Unauthorized`` and nothing runs.

Event handlers and timers act as their own service principal (``ServiceIdentity``),
with a short-lived token the service mints in-process from its own credentials;
``SystemRpcProxy`` (services.common.peers) calls with it too.
"""
import json
import threading
import time

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from services.common.actors import ANONYMOUS, AUTH_KEY, CONTEXT_KEY
from services.common.auth import mint_service_token, verify_token
from services.common.errors import Unauthorized
from services.contract.public import is_public

SERVICE_TOKEN_MINUTES = 10
_RENEW_BEFORE = 120  # seconds: mint a new one when less than this is left
_tokens = {}  # (service, settings) -> (token, expires at)
_lock = threading.Lock()


def bearer_value(token):
    return f"Bearer {token}"


def token_of(context_data):
    """The bare JWT of ``authorization`` in context data; None when absent; a
    present but malformed value is refused (never treated as anonymous)."""
    raw = (context_data or {}).get(AUTH_KEY)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise Unauthorized("invalid authorization: not a string")
    scheme, _, token = raw.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("invalid authorization: expected 'Bearer <token>'")
    return token.strip()


def authenticate(config, service, method, context_data):
    """The verified actor dict of a call to ``service.method``, else Unauthorized."""
    token = token_of(context_data)
    if token is None:
        if is_public(service, method):
            return dict(ANONYMOUS)
        raise Unauthorized(f"{service}.{method} requires a verified identity "
                           "(authorization: Bearer <token>)")
    return verify_token(config, token)


def service_token(config, service):
    """This service's own token (cached, renewed two minutes before it expires)."""
    jwt_cfg = config.get("JWT") or {}
    key = (service, jwt_cfg.get("algorithm"), jwt_cfg.get("kid"), jwt_cfg.get("issuer"),
           jwt_cfg.get("audience"), str(jwt_cfg.get("private_key") or jwt_cfg.get("key")))
    now = time.time()
    hit = _tokens.get(key)
    if hit is not None and hit[1] - now > _RENEW_BEFORE:
        return hit[0]
    with _lock:
        token = mint_service_token(config, service, ttl_minutes=SERVICE_TOKEN_MINUTES)
        _tokens[key] = (token, now + SERVICE_TOKEN_MINUTES * 60)
    return token


def service_actor(service):
    return {"id": None, "roles": ["system"], "department": None, "name": service,
            "region": None, "service": service}


def act_as_service(data, config, service):
    """Make context data ``data`` (a dict, changed in place) the service's own."""
    data[AUTH_KEY] = bearer_value(service_token(config, service))
    data[CONTEXT_KEY] = json.dumps(service_actor(service), sort_keys=True)
    return data


class ServiceIdentity(DependencyProvider):
    """Workers not started by an RPC (event handlers, timers) act as this service:
    whatever identity their trigger carried (an event's headers) is replaced."""

    def worker_setup(self, worker_ctx):
        if isinstance(worker_ctx.entrypoint, Rpc):
            return  # the entrypoint verified the caller's identity
        act_as_service(worker_ctx.data, self.container.config, self.container.service_name)

    def get_dependency(self, worker_ctx):
        return None
