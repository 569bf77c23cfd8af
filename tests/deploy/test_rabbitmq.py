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
    assert {e["name"] for e in d["exchanges"]} == {f"{s}.events" for s in SERVICES} | {DLX}
    assert {u["name"] for u in d["users"]} == set(SERVICES)


def test_dev_admin_definitions_are_loadable():
    d = json.loads((RABBIT / "dev-admin.json").read_text())
    (user,) = d["users"]
    assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert "administrator" in user["tags"]
    assert d["permissions"][0]["user"] == user["name"]
