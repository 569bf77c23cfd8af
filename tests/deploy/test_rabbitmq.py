"""deploy/rabbitmq: definitions.json is the contract's, freshly generated."""
import json
import os
import sys

from services.contract import DLX, SERVICES, consumer_queues, dlq_name
from tests.deploy.helpers import DEPLOY, run

RABBIT = DEPLOY / "rabbitmq"
DEFINITIONS = RABBIT / "definitions.json"


def test_committed_definitions_equal_a_fresh_generation(tmp_path):
    out = tmp_path / "definitions.json"
    env = {k: v for k, v in os.environ.items() if k not in ("EVENT_DELIVERY_LIMIT", "CRM_CONFIG")}
    crm = os.path.join(os.path.dirname(sys.executable), "crm")
    result = run([crm, "bus", "definitions", "--out", str(out)], env=env)
    assert result.returncode == 0, result.stderr
    assert DEFINITIONS.read_text() == out.read_text(), (
        "stale: run .venv/bin/crm bus definitions --out deploy/rabbitmq/definitions.json")


def test_definitions_hold_every_quorum_queue_with_dead_lettering():
    d = json.loads(DEFINITIONS.read_text())
    queues = {q["name"]: q for q in d["queues"]}
    for q in consumer_queues():
        args = queues[q["name"]]["arguments"]
        assert args["x-queue-type"] == "quorum"
        assert args["x-delivery-limit"] >= 1
        assert args["x-dead-letter-exchange"] == DLX
        assert args["x-dead-letter-routing-key"] == dlq_name(q["name"])
        assert dlq_name(q["name"]) in queues
    assert {e["name"] for e in d["exchanges"]} == ({f"{s}.events" for s in SERVICES}
                                                  | {f"{s}.retry" for s in SERVICES} | {DLX})
    # one user per service, per gateway and the CLI (issue 21: least privilege)
    assert {u["name"] for u in d["users"]} == (set(SERVICES) | {f"{s}_gateway" for s in SERVICES}
                                               | {"crm_cli"})


def test_each_service_user_reaches_only_its_own_queues_and_exchanges():
    """Checked with Python's re against the contract's names (RabbitMQ matches the
    regexes the same way, anchored by ^...$)."""
    import re
    d = json.loads(DEFINITIONS.read_text())
    perms = {p["user"]: p for p in d["permissions"]}
    topics = {(t["user"], t["exchange"]): t for t in d["topic_permissions"]}
    for me in SERVICES:
        p = perms[me]
        for q in consumer_queues():
            mine = q["consumer"] == me
            for op in ("configure", "read", "write"):
                assert bool(re.match(p[op], q["name"])) == mine, (me, op, q["name"])
        for other in SERVICES:
            assert bool(re.match(p["read"], f"rpc-{other}")) == (other == me)
            assert bool(re.match(p["write"], f"{other}.events")) == (other == me)
            assert bool(re.match(p["configure"], f"{other}.events")) == (other == me)
            assert bool(re.match(p["write"], f"{other}.retry")) == (other == me)
            assert bool(re.match(p["read"], f"rpc.reply-{other}-"
                                 "0b6f3c1e-2a4d-4e8f-9c71-5d2e8a9b3f00")) == (other == me)
        assert not re.match(p["write"], "amq.default") and not re.match(p["write"], "")
        rpc_topic = topics[(me, "nameko-rpc")]
        assert re.match(rpc_topic["read"], f"{me}.*")
        assert not any(re.match(rpc_topic["read"], f"{o}.*") for o in SERVICES if o != me)
    for gw in (f"{s}_gateway" for s in SERVICES):
        assert not any(re.match(perms[gw][op], f"rpc-{s}") for s in SERVICES
                       for op in ("configure", "read", "write"))


def test_dev_admin_definitions_are_loadable():
    d = json.loads((RABBIT / "dev-admin.json").read_text())
    (user,) = d["users"]
    assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert "administrator" in user["tags"]
    assert d["permissions"][0]["user"] == user["name"]
