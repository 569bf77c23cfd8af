"""Least privilege on the bus: one RabbitMQ user per service, per gateway and for the
CLI, with permissions derived from the contract (one source for ``crm bus setup``,
``crm bus definitions``, compose, Kubernetes and the tests).

RabbitMQ checks three regexes per user and vhost (configure: declare/delete;
write: publish to an exchange, bind a queue; read: consume a queue, bind from an
exchange) and, on topic exchanges, topic permissions on routing keys (publish:
write pattern; binding a queue: read pattern). A service ``s`` may:

- declare, bind and consume its own queues only: ``rpc-s`` (its RPC requests),
  ``rpc.reply-s-<uuid>`` (replies to its own calls) and the contract's consumer
  queues ``evt-<source>-<type>--s.<handler>``;
- publish to ``nameko-rpc`` (requests to any service, replies to callers), to its
  own ``s.events`` (the outbox relay) and to its own ``s.retry`` (a failing
  handler's message back to the end of its own queue: never the default exchange,
  which would reach every queue by name), and to ``crm.dlx`` (RabbitMQ requires
  write on the dead-letter exchange of a queue it declares);
- bind its queues to any ``*.events`` exchange (read) but declare or delete none
  but its own; on ``nameko-rpc`` bind only the keys ``s.*`` and reply uuids, so it
  cannot copy another service's requests (topic permissions).

Gateways and the CLI own reply queues only (``rpc.reply-<name>-<uuid>``;
the standalone proxy's are ``rpc.reply-standalone_rpc_proxy-<uuid>``).
Administrators (``crm bus setup``) keep ``.*``.
"""
import re

from services.contract import SERVICES

RPC_EXCHANGE = "nameko-rpc"
DLX = "crm.dlx"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STANDALONE = "standalone_rpc_proxy"  # nameko's standalone ClusterRpcProxy service name
CLI_USER = "crm_cli"


def gateway_user(service):
    return f"{service}_gateway"


def principals(prefix=""):
    """Every bus user: [(user, kind, service)], kind service|gateway|cli. RabbitMQ users
    are global to the broker: ``prefix`` keeps another stack's (a test's) apart."""
    out = [(prefix + s, "service", s) for s in SERVICES]
    out += [(prefix + gateway_user(s), "gateway", s) for s in SERVICES]
    out.append((prefix + CLI_USER, "cli", None))
    return out


def _any(*parts):
    return "^(" + "|".join(parts) + ")$"


def permissions(user, kind, service=None):
    """{"configure", "write", "read", "topics": [{exchange, write, read}]}."""
    rpc = re.escape(RPC_EXCHANGE)
    if kind == "service":
        s = re.escape(service)
        own_queues = [f"rpc-{s}", rf"rpc\.reply-{s}-{UUID}", rf"evt-[a-z_]+-[a-z_]+--{s}\.[a-z_]+"]
        own_exchanges = [rf"{s}\.events", rf"{s}\.retry"]
        return {
            "configure": _any(rpc, *own_queues, *own_exchanges),
            "write": _any(rpc, *own_queues, *own_exchanges, re.escape(DLX)),
            "read": _any(rpc, *own_queues, rf"{s}\.retry", r"[a-z_]+\.events"),
            "topics": [
                {"exchange": RPC_EXCHANGE, "write": ".*", "read": _any(rf"{s}\..*", UUID)},
            ],
        }
    name = re.escape(gateway_user(service) if kind == "gateway" else STANDALONE)
    reply = rf"rpc\.reply-{name}-{UUID}"
    return {"configure": _any(rpc, reply), "write": _any(rpc, reply), "read": _any(rpc, reply),
            "topics": [{"exchange": RPC_EXCHANGE, "write": ".*", "read": _any(UUID)}]}


def all_permissions(prefix=""):
    return {user: permissions(user, kind, service)
            for user, kind, service in principals(prefix)}
