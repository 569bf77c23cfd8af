"""dump_customer (the hot path) produces exactly CustomerOutSchema().dump."""
import datetime as dt
from decimal import Decimal

import pytest

from services.customers.schemas import CustomerOutSchema, dump_customer

UTC = dt.timezone.utc
BASE = {
    "id": 7, "name": "上海测试机械有限公司", "uscc": "91310000MA1FL8TQ3X", "industry_code": "C35",
    "region": "上海", "scale": "small", "annual_budget": Decimal("120.50"), "needs": "扩产",
    "source_channel": "trade_show", "type": "potential", "owner_id": "u1", "tier": "normal",
    "influence": 3, "cooperation_since": dt.date(2020, 1, 2), "lost_reason": None,
    "lost_note": None, "lost_at": None, "completeness": 0.75,
    "created_at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    "updated_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "version": 2,
    "tags": ["A", "展会获取"],
    "contacts": [{"id": 11, "name": "王芳", "title": "采购经理", "mobile": "139****5678",
                  "email": "wang@example.cn", "birthday": dt.date(1980, 5, 6),
                  "preferred_channel": "wechat", "is_primary": True},
                 {"id": 12, "name": "李四", "title": None, "mobile": None, "email": None,
                  "birthday": None, "preferred_channel": None, "is_primary": False}],
}
VARIANTS = [
    {},
    {"annual_budget": None, "influence": None, "cooperation_since": None, "region": None,
     "scale": None, "needs": None, "source_channel": None, "owner_id": None, "tags": [],
     "contacts": []},
    {"annual_budget": Decimal("0"), "completeness": 0.0, "version": 1},
    {"annual_budget": Decimal("123456789012.3"), "completeness": 1},
    {"type": "lost", "lost_reason": "competitor", "lost_note": "被竞品低价抢走",
     "lost_at": dt.datetime(2026, 3, 1, tzinfo=UTC)},
    {"created_at": dt.datetime(2019, 12, 31, 16, 0, tzinfo=UTC)},
]


@pytest.mark.parametrize("over", VARIANTS)
def test_same_as_marshmallow(over):
    record = dict(BASE, **over)
    assert dump_customer(record) == CustomerOutSchema().dump(record)
