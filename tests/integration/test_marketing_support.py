"""Helpers shared by the marketing integration tests (no tests in here)."""
import uuid

from kombu import Connection

from services.common.contract_bus import events_exchange_obj
from services.common.uow import make_envelope
from tests.support import data
from tests.support.fixtures import actor

MK = actor("mk1", "staff", "marketing")
MK2 = actor("mk2", "staff", "marketing")
SALES = actor("s1", "staff", "sales")
MGR = actor("boss", "manager", "management")
ADMIN = actor("root", "admin", "management")


def tag():
    return f"mk{uuid.uuid4().hex[:10]}"


def plan(**over):
    p = {"theme": "智能制造新品发布会", "goal": "获取华东制造业线索 30 条",
         "audience": {"tags_any": ["老客户"]},
         "starts_at": "2026-12-01T09:00:00+08:00", "ends_at": "2026-12-01T17:00:00+08:00",
         "location": "上海国际会展中心", "format": "exhibition", "budget": "50000",
         "cost": "40000",
         "milestones": [{"title": "场地预订", "owner_id": "mk1", "due_date": "2020-01-01"},
                        {"title": "物料制作", "owner_id": "mk2", "due_date": "2099-01-01"}]}
    p.update(over)
    return p


def customers(proxy, n, **over):
    """n customers created through customers' RPC (valid USCCs) → their ids."""
    return [proxy.customers.create_customer(data.customer(**over))["id"] for _ in range(n)]


def running_campaign(proxy, **over):
    c = proxy.marketing.create_campaign(plan(**over))
    proxy.marketing.schedule_campaign(c["id"])
    return proxy.marketing.launch_campaign(c["id"])


def contact(mobile=None, **over):
    c = {"name": "赵敏", "company": "杭州某电子有限公司",
         "mobile": mobile or f"137{uuid.uuid4().int % 10**8:08d}", "email": "zhao@example.cn"}
    c.update(over)
    return c


def sales_event(kind, occurred_at=None, **payload):
    payload.setdefault("owner_id", "s1")
    return make_envelope("sales", kind, payload, "s1", occurred_at)


def publish_sales(config, envelopes):
    """Publish hand-built sales envelopes as the sales relay would."""
    exchange = events_exchange_obj("sales")
    with Connection(config["AMQP_URI"]) as conn:
        producer = conn.Producer()
        for env in envelopes:
            producer.publish(env, exchange=exchange, routing_key=env["type"],
                             serializer="json", delivery_mode=2, declare=[exchange],
                             headers={"crm.source": "sales"})
