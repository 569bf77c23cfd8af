"""Audience resolution pages through customers.list_customers (page_size 100) as a
system call, keeping only non-PII fields."""
from services.marketing.customers_client import CustomersClient


class _FakeCustomers:
    def __init__(self, total):
        self.calls = []
        self.rows = [{"id": i, "name": f"c{i}", "type": "closed", "tier": "key",
                      "region": "上海", "industry_code": "C35", "tags": ["老客户"],
                      "contacts": [{"mobile": "13912345678"}]} for i in range(1, total + 1)]

    def list_customers(self, filters, page=1, page_size=20):
        self.calls.append((filters, page, page_size))
        start = (page - 1) * page_size
        return {"items": self.rows[start:start + page_size], "total": len(self.rows),
                "page": page, "page_size": page_size}


def _client(total):
    fake = _FakeCustomers(total)
    return CustomersClient(fake, {"RPC_TIMEOUT": 5}), fake


def test_pages_of_100_until_total():
    client, fake = _client(250)
    rows = client.resolve_audience({"tags_all": ["老客户"], "region": "上海", "tier": None})
    assert len(rows) == 250 and rows[-1]["customer_id"] == 250
    assert [c[1:] for c in fake.calls] == [(1, 100), (2, 100), (3, 100)]
    assert fake.calls[0][0] == {"tags_all": ["老客户"], "region": "上海"}
    assert "13912345678" not in str(rows)


def test_empty_audience_is_one_call():
    client, fake = _client(0)
    assert client.resolve_audience({}) == []
    assert len(fake.calls) == 1


def test_exact_page_boundary():
    client, fake = _client(200)
    assert len(client.resolve_audience({})) == 200
    assert len(fake.calls) == 2


class _KeysetCustomers(_FakeCustomers):
    """customers after issue 20: next_cursor, and a total that is an (under)estimate
    above 1,000 matches."""

    def list_customers(self, filters, page=1, page_size=20, cursor=None):
        self.calls.append((filters, page, page_size, cursor))
        start = int(cursor) if cursor else (page - 1) * page_size
        items = self.rows[start:start + page_size]
        more = start + page_size < len(self.rows)
        return {"items": items, "total": 1001, "total_is_estimate": True, "page": page,
                "page_size": page_size, "next_cursor": str(start + page_size) if more
                else None}


def test_follows_next_cursor_not_an_estimated_total():
    fake = _KeysetCustomers(1234)
    client = CustomersClient(fake, {"RPC_TIMEOUT": 5})
    rows = client.resolve_audience({})
    assert [r["customer_id"] for r in rows] == list(range(1, 1235))
    assert fake.calls[0][3] is None and fake.calls[1][3] == "100"
    assert len(fake.calls) == 13
