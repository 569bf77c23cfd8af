"""No one is trusted by omission on the bus (issue 21): every RPC method of every
service, called straight on RabbitMQ (no gateway) with an anonymous, forged,
tampered, expired, wrong-audience, wrong-issuer, unknown-key or unsigned
(``alg: none``) identity, and a forged ``crm_actor`` claiming admin, is refused
with the declared ``Unauthorized``; nothing is written (row counts of every
table of every service unchanged) and nothing leaks (the answer is the error's
code and message, no seeded value in it). Prints the figures (attempts, refused,
leaks) that docs/reliability.md quotes.

The tokens are built here with PyJWT and base64 from RFC 7519/7515, never with the
project's minting code; the methods are enumerated from the service classes."""
import base64
import inspect
import json
import time

import jwt
import pytest
import sqlalchemy as sa
from nameko.exceptions import MethodNotFound, RemoteError
from nameko.rpc import Rpc
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.cli.rpc_client import cluster
from services.common.config import db_url
from services.common.errors import Forbidden, NotFound, Unauthorized
from services.contract.public import PUBLIC_RPC
from services.customers.service import CustomersService
from services.marketing.service import MarketingService
from services.reporting.service import ReportingService
from services.sales.service import SalesService
from services.service_desk.service import ServiceDeskService
from tests.support.data import customer as customer_data

pytestmark = pytest.mark.integration
SERVICES = {"customers": CustomersService, "sales": SalesService,
            "service_desk": ServiceDeskService, "marketing": MarketingService,
            "reporting": ReportingService}
ADMIN_CLAIM = {"id": "intruder", "roles": ["admin"], "department": "management"}
FIGURES = {}


def rpc_methods(cls):
    """Names of the class's RPC entrypoints (nameko's own registration)."""
    out = []
    for name, member in inspect.getmembers(cls):
        if any(isinstance(ep, Rpc) for ep in getattr(member, "nameko_entrypoints", ())):
            out.append(name)
    return sorted(out)


def b64(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(config, **over):
    jwt_cfg = config["JWT"]
    now = int(time.time())
    base = {"sub": "bus-u1", "name": "bus-u1", "roles": ["staff"], "department": "sales",
            "iss": jwt_cfg["issuer"], "aud": jwt_cfg["audience"], "iat": now,
            "exp": now + 600}
    base.update(over)
    return base


def good(config, **over):
    return jwt.encode(claims(config, **over), config["JWT"]["key"], algorithm="HS256")


def bad_tokens(config):
    """kind -> authorization value (None: no identity at all)."""
    key = config["JWT"]["key"]
    valid = good(config)
    head, _payload, sig = valid.split(".")
    tampered = ".".join([head, b64(claims(config, roles=["admin"])), sig])
    past = int(time.time()) - 7200
    none = ".".join([b64({"alg": "none", "typ": "JWT"}),
                     b64(claims(config, roles=["admin"])), ""])
    system_forged = jwt.encode(claims(config, sub="svc:billing", svc="billing",
                                      roles=["system"]), "not-the-key-0123456789abcdef",
                               algorithm="HS256")
    return {
        "anonymous": None,
        "forged": jwt.encode(claims(config, roles=["admin"]), "not-the-key-0123456789abcdef",
                             algorithm="HS256"),
        "forged_system": system_forged,
        "tampered": tampered,
        "expired": jwt.encode(claims(config, iat=past, exp=past + 60), key, algorithm="HS256"),
        "wrong_audience": good(config, aud="another-system"),
        "wrong_issuer": good(config, iss="someone-else"),
        "unknown_kid": jwt.encode(claims(config), key, algorithm="HS256",
                                  headers={"kid": "retired-2019"}),
        "alg_none": none,
        "not_bearer": "Basic Z3Vlc3Q6Z3Vlc3Q=",
    }


def proxy(config, authorization, timeout=20):
    context = {"crm_actor": json.dumps(ADMIN_CLAIM, sort_keys=True)}
    if authorization is not None:
        context["authorization"] = (authorization if authorization.startswith("Basic ")
                                    else f"Bearer {authorization}")
    return ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "serializer": "json"},
                           context_data=context, timeout=timeout)


def row_counts(config):
    counts = {}
    for service in SERVICES:
        engine = sa.create_engine(db_url(config, service))
        try:
            with engine.connect() as conn:
                for table in sorted(sa.inspect(conn).get_table_names()):
                    counts[(service, table)] = conn.execute(
                        sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
        finally:
            engine.dispose()
    return counts


def refusals_counted():
    from prometheus_client import REGISTRY
    return sum(sample.value for metric in REGISTRY.collect()
               if metric.name == "crm_rpc_refused" for sample in metric.samples
               if sample.name == "crm_rpc_refused_total")


def settled_counts(config, quiet=None, limit=90.0):
    """Row counts once the seed's events have been applied everywhere (no change
    for ``quiet`` seconds). The default outlasts AUDIT_CHECKPOINT_SECONDS: the
    checkpoint timer publishes the seed's unanchored tail up to that long after the
    last write (an outbox row, reporting's inbox and checkpoint rows), which is the
    system's own work, not something a refused call did."""
    if quiet is None:
        quiet = max(0.0, float(config.get("AUDIT_CHECKPOINT_SECONDS") or 0)) + 2.5
    began = time.monotonic()
    last, since = row_counts(config), time.monotonic()
    while time.monotonic() - began < limit:
        time.sleep(0.5)
        now = row_counts(config)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    return last


@pytest.fixture(scope="module")
def seeded(config, module_services):
    module_services(*SERVICES.values())
    with cluster(config) as system:  # the CLI's service principal
        made = system.customers.create_customer(customer_data())
        lead = system.sales.create_lead({"customer_name": "泄露测试公司", "source": "website",
                                         "contact_name": "李雷", "contact_mobile": "13912345678"})
    return {"customer": made, "lead": lead,
            "secrets": [made["name"], made["contacts"][0]["mobile"], "13912345678",
                        "泄露测试公司"]}


def test_every_rpc_method_refuses_every_invalid_identity(config, seeded):
    tokens = bad_tokens(config)
    before = settled_counts(config)
    counted_before = refusals_counted()
    attempts = refused = leaks = 0
    wrong = []
    for kind, authorization in tokens.items():
        with proxy(config, authorization) as p:
            for service, cls in SERVICES.items():
                public = PUBLIC_RPC.get(service, frozenset())
                for method in rpc_methods(cls):
                    if kind == "anonymous" and method in public:
                        continue  # answered on purpose: test_public_methods_...
                    attempts += 1
                    try:
                        answer = getattr(getattr(p, service), method)(1, {"x": 1})
                    except Unauthorized as exc:
                        refused += 1
                        text = str(exc)
                        if any(s in text for s in seeded["secrets"]):
                            leaks += 1
                            wrong.append((kind, service, method, "leak", text[:120]))
                        continue
                    except RemoteError as exc:
                        wrong.append((kind, service, method, exc.exc_type, str(exc)[:120]))
                        continue
                    except Exception as exc:  # noqa: BLE001 - any other answer is a failure
                        wrong.append((kind, service, method, type(exc).__name__,
                                      str(exc)[:120]))
                        continue
                    leaks += 1
                    wrong.append((kind, service, method, "answered", str(answer)[:120]))
    time.sleep(1.0)  # anything a refused call had started would have written by now
    after = row_counts(config)
    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    methods = sum(len(rpc_methods(c)) for c in SERVICES.values())
    FIGURES.update(methods=methods, kinds=len(tokens), attempts=attempts, refused=refused,
                   leaks=leaks, tables=len(before), rows_changed=len(changed))
    print(f"\nbus identity matrix: {methods} RPC methods x {len(tokens)} identity kinds "
          f"= {attempts} attempts, {refused} refused (Unauthorized), {leaks} leaks, "
          f"{len(before)} tables, {len(changed)} row counts changed")
    assert not wrong, wrong[:20]
    assert not changed, changed
    assert refused == attempts and leaks == 0
    # every refusal is counted for the operators (crm_rpc_refused_total)
    assert refusals_counted() - counted_before == attempts


def test_an_unknown_method_tells_a_caller_without_identity_nothing(config, seeded):
    with proxy(config, None) as anon, pytest.raises(Unauthorized):
        anon.customers.no_such_method(1)
    with proxy(config, good(config)) as p, pytest.raises(MethodNotFound):
        p.customers.no_such_method(1)


def test_public_methods_are_declared_once_and_exist(config, seeded):
    with cluster(config) as system:  # something to find
        sd = system.service_desk
        faq = sd.create_faq({"question": "如何办理退货？", "answer": "在订单页申请退货。",
                             "category": "售后"})
        sd.publish_faq(faq["id"])
    for service, methods in PUBLIC_RPC.items():
        assert methods <= set(rpc_methods(SERVICES[service])), service
    with proxy(config, None) as anon:  # the forged admin crm_actor rides along, ignored
        found = anon.service_desk.search_faq("退货", None, 5)
        assert found["items"], "the published entry is found"
        public_keys = {"id", "question", "answer", "category", "published_at"}
        assert all(set(f) <= public_keys for f in found["items"])  # no author, counters
        assert all(set(f) <= public_keys for f in anon.service_desk.top_faq(5, None))
        with pytest.raises(Unauthorized):
            anon.service_desk.create_faq({"question": "q", "answer": "a",
                                          "category": "c"})
    # a public method still refuses an identity that is present and invalid
    with proxy(config, bad_tokens(config)["expired"]) as p, pytest.raises(Unauthorized):
        p.service_desk.search_faq("退货", None, 5)


def test_the_verified_token_decides_not_the_crm_actor_it_travels_with(config, seeded):
    """A valid staff token with a crm_actor claiming admin: staff rules apply
    (the system's customer is not visible, back-dating is refused)."""
    with proxy(config, good(config, sub="bus-staff")) as p:
        listed = p.customers.list_customers({}, 1, 100)
        assert all(c["owner_id"] == "bus-staff" for c in listed["items"])
        with pytest.raises(NotFound):  # no existence leak
            p.customers.get_customer(seeded["customer"]["id"])
        with pytest.raises(Forbidden):
            p.customers.create_customer(customer_data(), at="2020-01-01T00:00:00+08:00")


def test_service_principal_may_back_date_and_sees_all(config, seeded, rpc):
    with rpc(service="migration") as system:
        made = system.customers.create_customer(customer_data(),
                                                at="2020-01-01T00:00:00+08:00")
        assert made["created_at"].startswith("2019-12-31T16:00:00")
        assert system.customers.get_customer(seeded["customer"]["id"])["id"] == \
            seeded["customer"]["id"]


def test_an_admin_token_not_a_service_principal_for_roles_system(config, seeded):
    """``roles: [system]`` in a user token (no svc claim, or a mismatched sub) is not
    a service principal."""
    for forged in (good(config, roles=["system"]),
                   good(config, sub="u1", svc="billing", roles=["system"]),
                   good(config, sub="svc:billing", svc="billing", roles=["system", "admin"])):
        with proxy(config, forged) as p, pytest.raises(Unauthorized):
            p.customers.list_customers({}, 1, 10)


def test_figures_were_measured():
    assert FIGURES.get("attempts", 0) > 0 and FIGURES["leaks"] == 0, FIGURES

