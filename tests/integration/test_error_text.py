"""What a caller that does not import this project sees of a declared error (issue 16
item 8): a plain nameko ClusterRpcProxy, in its own process that never imports
``services``, on the real broker, gets a RemoteError whose text carries the error's
code and every field with its message, the same fields a Python caller of this
package gets structured."""
import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from services.common.actors import CONTEXT_KEY
from services.common.auth import mint_token
from services.common.errors import Conflict, field_messages
from services.customers.service import CustomersService
from services.sales.service import SalesService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration

FOREIGN_CLIENT = textwrap.dedent("""
    import eventlet
    eventlet.monkey_patch()
    import json, sys
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    job = json.load(sys.stdin)
    out = []
    with ClusterRpcProxy({"AMQP_URI": job["amqp"], "serializer": "json"},
                         context_data=job["context"], timeout=20) as proxy:
        for service, method, args, kwargs in job["calls"]:
            try:
                getattr(getattr(proxy, service), method)(*args, **kwargs)
                out.append({"returned": True})
            except RemoteError as exc:
                out.append({"type": type(exc).__name__, "exc_type": exc.exc_type,
                            "text": str(exc)})
    assert not [m for m in sys.modules if m == "services" or m.startswith("services.")]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module", autouse=True)
def _services(module_services):
    module_services(CustomersService, SalesService)


def foreign_calls(config, who, *calls):
    """Run ``calls`` [(service, method, args, kwargs)] from a process without this
    package; what each raised, as that process saw it."""
    context = {CONTEXT_KEY: json.dumps(who, sort_keys=True),
               "authorization": "Bearer " + mint_token(config, who["id"], who["roles"][0],
                                                       who["department"])}
    job = {"amqp": config["AMQP_URI"], "context": context, "calls": [list(c) for c in calls]}
    done = subprocess.run([sys.executable, "-c", FOREIGN_CLIENT], input=json.dumps(job),
                          capture_output=True, text=True, timeout=120, cwd="/tmp")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def python_error(rpc, who, service, method, *args, **kwargs):
    """The same call from this package: the declared error with its fields."""
    with rpc(who) as p, pytest.raises(Exception) as err:
        getattr(getattr(p, service), method)(*args, **kwargs)
    return err.value


def assert_text_carries(seen, exc, exc_type, code):
    assert seen["type"] == "RemoteError" and seen["exc_type"] == exc_type
    text = seen["text"]
    assert text.startswith(f"{exc_type} {code}: {exc.message}"), text
    pairs = field_messages(exc.fields)
    for path, message in pairs:
        assert f"{path}: {message}" in text, (path, message, text)
    return pairs


def test_validation_error_text_names_each_field(config, rpc):
    who = actor(f"e-{uuid.uuid4().hex[:6]}")
    good = data.uscc()
    wrong = "0" if good[-1] != "0" else "1"  # any other check character
    bad = data.customer(uscc=good[:-1] + wrong, annual_budget="-0.00",
                        contacts=[{"name": "王芳", "mobile": "1380013800", "is_primary": True}])
    exc = python_error(rpc, who, "customers", "create_customer", bad)
    [seen] = foreign_calls(config, who, ("customers", "create_customer", [bad], {}))
    pairs = assert_text_carries(seen, exc, "ValidationError", "VALIDATION_ERROR")
    paths = {p for p, _ in pairs}
    assert {"uscc", "annual_budget", "contacts.0.mobile"} <= paths, pairs
    assert "annual_budget: must not be negative (-0 included)" in seen["text"]


def test_money_bound_text_names_the_line_field(config, rpc):
    who = actor(f"e-{uuid.uuid4().hex[:6]}")
    with rpc(who) as p:
        customer = p.customers.create_customer(data.customer())
    order = {"customer_id": customer["id"],
             "lines": [{"product": "整线", "quantity": "10000000", "unit_price": "200000.00"}]}
    exc = python_error(rpc, who, "sales", "create_order", order)
    [seen] = foreign_calls(config, who, ("sales", "create_order", [order], {}))
    assert_text_carries(seen, exc, "ValidationError", "VALIDATION_ERROR")
    assert "lines.0.unit_price: quantity × unit_price = 2000000000000.00 exceeds" in seen["text"]


def test_not_found_conflict_forbidden_texts(config, rpc):
    who = actor(f"e-{uuid.uuid4().hex[:6]}")
    taken = data.customer()
    with rpc(who) as p:
        p.customers.create_customer(taken)
    again = dict(data.customer(), uscc=taken["uscc"])
    calls = [("customers", "get_customer", [987654321098], {}),
             ("customers", "create_customer", [again], {}),
             ("customers", "create_customer", [data.customer()],
              {"at": "2020-01-01T00:00:00+00:00"})]
    expected = [python_error(rpc, who, s, m, *a, **k) for s, m, a, k in calls[:1]]
    expected.append(python_error(rpc, who, *calls[1][:2], *calls[1][2]))
    expected.append(python_error(rpc, who, *calls[2][:2], *calls[2][2], **calls[2][3]))
    assert [type(e).__name__ for e in expected] == ["NotFound", "Conflict", "Forbidden"]
    assert isinstance(expected[1], Conflict) and expected[1].fields  # uscc: already registered
    seen = foreign_calls(config, who, *calls)
    for s, e in zip(seen, expected, strict=True):
        assert_text_carries(s, e, type(e).__name__, e.code)
    assert "uscc: already registered" in seen[1]["text"]
