"""The public contract as data: services, ports, events and who consumes them.

One source of truth for ``crm bus setup``, ``crm bus definitions``, the
consumers' queue declarations and the contract tests.
"""

SERVICES = ("customers", "sales", "service_desk", "marketing", "reporting")
HTTP_PORTS = {s: 8001 + i for i, s in enumerate(SERVICES)}
METRICS_PORTS = {s: 9101 + i for i, s in enumerate(SERVICES)}

EVENTS = {
    "customers": (
        "customer_created", "customer_updated", "customer_lost",
        "customer_reactivated", "customer_owner_changed", "customer_tier_changed",
        "customers_merged", "contact_erased", "audit_checkpoint",
    ),
    "sales": (
        "lead_created", "lead_assigned", "lead_converted", "lead_disqualified",
        "opportunity_created", "opportunity_stage_changed", "opportunity_won",
        "opportunity_lost", "follow_up_scheduled", "follow_up_completed",
        "order_placed", "order_changed", "order_shipped", "payment_received",
        "order_cancelled", "audit_checkpoint",
    ),
    "service_desk": (
        "ticket_opened", "ticket_assigned", "ticket_responded", "ticket_resolved",
        "ticket_closed", "ticket_reopened", "ticket_sla_breached",
        "survey_answered", "care_visit_completed", "audit_checkpoint",
    ),
    "marketing": (
        "campaign_launched", "participant_registered", "campaign_feedback_recorded",
        "campaign_lead_generated", "campaign_completed", "audit_checkpoint",
    ),
    "reporting": (),
}

ALL_EVENTS = tuple((src, t) for src, types in EVENTS.items() for t in types)
# the audit trail's signed heads and an erasure are not business facts: reporting keeps
# the checkpoints (``on_audit_checkpoint``) and applies erasures, but counts neither
NOT_REPORTED = ("audit_checkpoint", "contact_erased")
REPORTED_EVENTS = tuple(e for e in ALL_EVENTS if e[1] not in NOT_REPORTED)
AUDIT_SOURCES = tuple(s for s, types in EVENTS.items() if "audit_checkpoint" in types)

# consumer service -> handler method -> [(source service, event type)]
# A handler method gets one durable queue per (source, event type).
CONSUMERS = {
    "customers": {
        "on_order_event": [
            ("sales", "order_placed"), ("sales", "order_changed"),
            ("sales", "order_cancelled"),
        ],
    },
    "sales": {
        "on_campaign_lead_generated": [("marketing", "campaign_lead_generated")],
        "on_customers_merged": [("customers", "customers_merged")],
        "on_contact_erased": [("customers", "contact_erased")],
    },
    "service_desk": {
        "on_customer_event": [
            ("customers", "customer_created"), ("customers", "customer_updated"),
            ("customers", "customer_tier_changed"), ("customers", "customer_lost"),
            ("customers", "customer_reactivated"),
        ],
        "on_customers_merged": [("customers", "customers_merged")],
        "on_contact_erased": [("customers", "contact_erased")],
    },
    "marketing": {
        "on_sales_event": [
            ("sales", "lead_created"), ("sales", "lead_converted"),
            ("sales", "opportunity_created"), ("sales", "opportunity_won"),
            ("sales", "order_placed"), ("sales", "order_changed"),
            ("sales", "order_cancelled"),
        ],
        "on_customers_merged": [("customers", "customers_merged")],
        "on_contact_erased": [("customers", "contact_erased")],
    },
    "reporting": {
        "apply_event": list(REPORTED_EVENTS),
        "on_audit_checkpoint": [(s, "audit_checkpoint") for s in AUDIT_SOURCES],
        "on_contact_erased": [("customers", "contact_erased")],
    },
}

DLX = "crm.dlx"


def events_exchange(service):
    return f"{service}.events"


def queue_name(source, event_type, consumer, method):
    """Same shape as nameko's SERVICE_POOL event handler queues."""
    return f"evt-{source}-{event_type}--{consumer}.{method}"


def dlq_name(queue):
    return f"{queue}.dlq"


def consumer_queues():
    """Every consumer queue of the contract: dicts with name, source, event_type."""
    out = []
    for consumer, methods in CONSUMERS.items():
        for method, pairs in methods.items():
            for source, event_type in pairs:
                out.append({
                    "name": queue_name(source, event_type, consumer, method),
                    "consumer": consumer, "method": method,
                    "source": source, "event_type": event_type,
                })
    return out


QUEUE_TYPES = ("classic", "quorum")


def queue_arguments(queue, delivery_limit=5, queue_type="quorum"):
    """Arguments shared by ``crm bus setup`` and the consumer's own declaration.

    Every queue dead-letters to ``crm.dlx`` → ``<queue>.dlq``. Handlers count
    attempts themselves (a header on the re-published message) so retries are
    bounded on both queue types. Quorum queues (production, clusters) also
    count deliveries in the broker: ``x-delivery-limit`` (a little above the
    handler's limit) dead-letters a message whose handler kills the process.
    Classic queues are the embedded default: one node, far cheaper to declare.
    """
    args = {"x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": dlq_name(queue)}
    if queue_type == "quorum":
        args.update({"x-queue-type": "quorum", "x-delivery-limit": int(delivery_limit) + 2})
    elif queue_type != "classic":
        raise ValueError(f"queue type must be one of {QUEUE_TYPES}")
    return args


def bus_settings(config):
    """(delivery limit, queue type) from a service config."""
    return (int(config.get("EVENT_DELIVERY_LIMIT", 5) or 5),
            str(config.get("QUEUE_TYPE") or "classic"))
