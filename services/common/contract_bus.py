"""kombu objects for the contract's exchanges and queues (one definition).

nameko declares ``<service>.events`` as a durable topic exchange; the relay,
``crm bus setup`` and the consumers use these same objects so declarations
never disagree (a mismatch would be a PRECONDITION_FAILED at runtime).
"""
from kombu import Exchange, Queue

from services.contract import DLX, consumer_queues, dlq_name, events_exchange, queue_arguments


def events_exchange_obj(service):
    return Exchange(events_exchange(service), type="topic", durable=True, delivery_mode=2)


def retry_exchange(service):
    """Where a service's failing handler re-publishes a message to the end of its own
    queue (direct, routing key = the queue's name): the service may write here, not
    to the default exchange, which reaches every queue by name."""
    return f"{service}.retry"


def retry_exchange_obj(service):
    return Exchange(retry_exchange(service), type="direct", durable=True, delivery_mode=2)


def dlx_obj():
    return Exchange(DLX, type="direct", durable=True)


def consumer_queue_obj(name, source, event_type, delivery_limit=5, queue_type="classic"):
    return Queue(name, exchange=events_exchange_obj(source), routing_key=event_type,
                 durable=True, auto_delete=False, exclusive=False,
                 queue_arguments=queue_arguments(name, delivery_limit, queue_type))


def dlq_obj(queue, queue_type="classic"):
    name = dlq_name(queue)
    args = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
    return Queue(name, exchange=dlx_obj(), routing_key=name, durable=True, queue_arguments=args)


def all_queue_objs(delivery_limit=5, queue_type="classic", consumers=None):
    out = []
    for q in consumer_queues():
        if consumers and q["consumer"] not in consumers:
            continue
        out.append((q, consumer_queue_obj(q["name"], q["source"], q["event_type"],
                                          delivery_limit, queue_type),
                    dlq_obj(q["name"], queue_type)))
    return out
