"""Standalone RPC client for the CLI, demo and tests (the public RPC API).

Every call carries a verifiable identity (``authorization: Bearer <jwt>`` in the
context data, ARCHITECTURE.md §5 Additions): a given ``token``; else, for
``actor``, a user token minted from the configured key (dev and tests); else the
token of the service principal ``service`` (default ``cli``: the CLI, ``crm
demo`` and imports authenticate as that named system principal).
"""
import contextlib
import json

from nameko.standalone.rpc import ClusterRpcProxy

from services.common.actors import AUTH_KEY, CONTEXT_KEY
from services.common.auth import mint_service_token, mint_token

CLI_PRINCIPAL = "cli"


def identity_context(config, actor=None, token=None, service=CLI_PRINCIPAL, ttl_minutes=60):
    """The context data that authenticates calls as ``token`` / ``actor`` / ``service``."""
    if token is None and actor:
        roles = actor.get("roles") or ["staff"]
        token = mint_token(config, actor["id"], roles, actor.get("department"),
                           name=actor.get("name"), region=actor.get("region"),
                           ttl_minutes=ttl_minutes)
    if token is None:
        token = mint_service_token(config, service, ttl_minutes=ttl_minutes)
    context = {AUTH_KEY: f"Bearer {token}"}
    if actor:  # informative only: every service derives the actor from the token
        context[CONTEXT_KEY] = json.dumps(actor, sort_keys=True)
    return context


@contextlib.contextmanager
def cluster(config, actor=None, timeout=30, token=None, service=CLI_PRINCIPAL):
    """``with cluster(cfg) as rpc: rpc.customers.get_customer(1)``.

    ``actor`` (a dict with id/roles/department) makes calls on behalf of a
    user; ``token`` uses that JWT; without either the calls authenticate as the
    service principal ``service`` (role ``system``).
    """
    context = identity_context(config, actor, token, service)
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"},
                         context_data=context, timeout=timeout) as proxy:
        yield proxy
