"""kombu objects for the contract's exchanges and queues (one definition).

nameko declares ``<service>.events`` as a durable topic exchange; the relay,
``crm bus setup`` and the consumers use these same objects so declarations
never disagree (a mismatch would be a PRECONDITION_FAILED at runtime).
"""
from kombu import Exchange, Queue

from services.contract import DLX, consumer_queues, dlq_name, events_exchange, queue_arguments


def events_exchange_obj(service):
    return Exchange(events_exchange(service), type="topic", durable=True, delivery_mode=2)


def dlx_obj():
    return Exchange(DLX, type="direct", durable=True)


def consumer_queue_obj(name, source, event_type, delivery_limit=5):
    return Queue(name, exchange=events_exchange_obj(source), routing_key=event_type,
                 durable=True, auto_delete=False, exclusive=False,
                 queue_arguments=queue_arguments(name, delivery_limit))


def dlq_obj(queue):
    name = dlq_name(queue)
    return Queue(name, exchange=dlx_obj(), routing_key=name, durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


def all_queue_objs(delivery_limit=5, consumers=None):
    out = []
    for q in consumer_queues():
        if consumers and q["consumer"] not in consumers:
            continue
        out.append((q, consumer_queue_obj(q["name"], q["source"], q["event_type"], delivery_limit),
                    dlq_obj(q["name"])))
    return out
