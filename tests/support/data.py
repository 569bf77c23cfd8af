"""Test data: valid, unique customers (USCCs from the GB 32100 reference in
tests/support/standards.py, not from the code under test)."""
import itertools
import random
import uuid

from tests.support import standards

_rng = random.Random(uuid.uuid4().int)
_counter = itertools.count(1)


def uscc():
    return standards.uscc(_rng, authority="9", category="1", division="310000")


def customer(**over):
    n = next(_counter)
    data = {
        "name": f"上海测试机械有限公司{n}",
        "uscc": uscc(),
        "industry_code": "C35",
        "region": "上海",
        "type": "potential",
        "tags": ["展会获取"],
        "contacts": [{"name": "王芳", "title": "采购经理",
                      "mobile": f"139{_rng.randint(0, 99999999):08d}",
                      "email": "wang@example.cn", "is_primary": True}],
    }
    data.update(over)
    return data
