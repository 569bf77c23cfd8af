"""Bus topology from the contract: setup, definitions.json, dead-letter queues."""
import json

from kombu import Connection, Producer

from services.common import bus_users
from services.common.contract_bus import (
    all_queue_objs,
    dlx_obj,
    events_exchange_obj,
    retry_exchange,
    retry_exchange_obj,
)
from services.contract import DLX, SERVICES, consumer_queues, dlq_name, queue_arguments


def setup_bus(amqp_uri, delivery_limit=5, queue_type="classic"):
    """Declare exchanges, every consumer queue (durable, quorum) and its DLQ.

    Idempotent: run it before any service starts so events published while a
    consumer is down or not yet deployed wait in its queue.
    """
    declared = []
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for service in SERVICES:
            events_exchange_obj(service)(channel).declare()
            retry_exchange_obj(service)(channel).declare()
        dlx_obj()(channel).declare()
        for q, queue, dlq in all_queue_objs(delivery_limit, queue_type):
            dlq(channel).declare()
            queue(channel).declare()
            channel.queue_bind(q["name"], retry_exchange(q["consumer"]), q["name"])
            declared.append(q["name"])
    return declared


def dlq_depths(amqp_uri, queue_type="classic"):
    """[(dlq name, message count)] for every dead-letter queue of the contract."""
    out = []
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for _, _, dlq in all_queue_objs(queue_type=queue_type):
            _, count, _ = dlq(channel).queue_declare(passive=True)
            out.append((dlq.name, count))
    return out


def peek_dlq(amqp_uri, queue, limit=20):
    """Look at up to ``limit`` dead-lettered messages without removing them."""
    seen = []
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        held = []
        for _ in range(limit):
            msg = channel.basic_get(dlq_name(queue), no_ack=False)
            if msg is None:
                break
            held.append(msg)
            body = json.loads(msg.body)
            death = (msg.headers or {}).get("x-death") or [{}]
            seen.append({"event_id": body.get("event_id"), "type": body.get("type"),
                         "reason": death[0].get("reason"), "count": death[0].get("count")})
        for msg in held:
            channel.basic_reject(msg.delivery_tag, requeue=True)
    return seen


def replay_dlq(amqp_uri, queue, limit=None):
    """Move dead-lettered messages back to their queue (after the fix is deployed).

    Each message is republished with confirms, then acked on the DLQ, so a crash
    in between duplicates (the inbox absorbs it) but never loses a message.
    """
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        while limit is None or moved < limit:
            msg = channel.basic_get(dlq_name(queue), no_ack=False)
            if msg is None:
                break
            headers = {k: v for k, v in (msg.headers or {}).items()
                       if not k.startswith("x-")}
            headers["crm.replayed"] = True
            producer.publish(msg.body, exchange="", routing_key=queue, mandatory=True,
                             delivery_mode=2, headers=headers,
                             content_type=msg.properties.get("content_type", "application/json"),
                             content_encoding=msg.properties.get("content_encoding", "utf-8"),
                             message_id=msg.properties.get("message_id"))
            channel.basic_ack(msg.delivery_tag)
            moved += 1
    return moved


def definitions(delivery_limit=5, vhost="/", queue_type="quorum"):
    """RabbitMQ definitions.json: exchanges, queues, bindings, per-principal users
    with least-privilege permissions and topic permissions.

    Passwords are placeholders (hash-less); deploy sets them with rabbitmqctl or
    the management API from Secrets.
    """
    exchanges = [{"name": f"{s}.events", "vhost": vhost, "type": "topic", "durable": True,
                  "auto_delete": False, "internal": False, "arguments": {}} for s in SERVICES]
    exchanges += [{"name": retry_exchange(s), "vhost": vhost, "type": "direct", "durable": True,
                   "auto_delete": False, "internal": False, "arguments": {}} for s in SERVICES]
    exchanges.append({"name": DLX, "vhost": vhost, "type": "direct", "durable": True,
                      "auto_delete": False, "internal": False, "arguments": {}})
    queues, bindings = [], []
    for q in consumer_queues():
        queues.append({"name": q["name"], "vhost": vhost, "durable": True, "auto_delete": False,
                       "arguments": queue_arguments(q["name"], delivery_limit, queue_type)})
        queues.append({"name": dlq_name(q["name"]), "vhost": vhost, "durable": True,
                       "auto_delete": False,
                       "arguments": {"x-queue-type": queue_type} if queue_type == "quorum" else {}})
        bindings.append({"source": f"{q['source']}.events", "vhost": vhost,
                         "destination": q["name"], "destination_type": "queue",
                         "routing_key": q["event_type"], "arguments": {}})
        bindings.append({"source": DLX, "vhost": vhost, "destination": dlq_name(q["name"]),
                         "destination_type": "queue", "routing_key": dlq_name(q["name"]),
                         "arguments": {}})
        bindings.append({"source": retry_exchange(q["consumer"]), "vhost": vhost,
                         "destination": q["name"], "destination_type": "queue",
                         "routing_key": q["name"], "arguments": {}})
    # one user per service, gateway and the CLI (services.common.bus_users)
    users, permissions, topic_permissions = [], [], []
    for user, perms in bus_users.all_permissions().items():
        users.append({"name": user, "password_hash": "", "tags": []})
        permissions.append({"user": user, "vhost": vhost, "configure": perms["configure"],
                            "write": perms["write"], "read": perms["read"]})
        topic_permissions += [{"user": user, "vhost": vhost, **t} for t in perms["topics"]]
    return {"rabbit_version": "3.10.8", "vhosts": [{"name": vhost}], "users": users,
            "permissions": permissions, "topic_permissions": topic_permissions,
            "exchanges": exchanges, "queues": queues,
            "bindings": bindings, "policies": [], "parameters": []}
