"""Standalone RPC client for the CLI, demo and tests (the public RPC API)."""
import contextlib
import json

from nameko.standalone.rpc import ClusterRpcProxy

from services.common.actors import CONTEXT_KEY


@contextlib.contextmanager
def cluster(config, actor=None, timeout=30):
    """``with cluster(cfg) as rpc: rpc.customers.get_customer(1)``.

    ``actor`` (a dict with id/roles/department) makes calls on behalf of a
    user; without it the calls are trusted system calls.
    """
    context = {CONTEXT_KEY: json.dumps(actor, sort_keys=True)} if actor else None
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"},
                         context_data=context, timeout=timeout) as proxy:
        yield proxy
