"""The security matrix through the real HTTP gateways (issue 8): BOLA across staff
users and object types, token variants, mass assignment, limits, audit chain.
Prints attempts and leaks; any leak fails."""
import base64
import datetime as dt
import json
import uuid

import jwt
import pytest
import requests

from services.common.auth import mint_token
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from services.reporting.gateway import ReportingGateway
from services.reporting.service import ReportingService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from services.service_desk.gateway import ServiceDeskGateway
from services.service_desk.service import ServiceDeskService
from tests.support.data import customer as customer_data
from tests.support.fixtures import free_port

pytestmark = pytest.mark.integration
LINES = [{"product": "设备A", "quantity": "2", "unit_price": "1000.50"}]
RESULTS = {}


@pytest.fixture(scope="module")
def gw(config, module_services):
    module_services(CustomersService, SalesService, ServiceDeskService, ReportingService)
    urls = {}
    for name, cls in (("customers", CustomersGateway), ("sales", SalesGateway),
                      ("service_desk", ServiceDeskGateway), ("reporting", ReportingGateway)):
        port = free_port()
        module_services(cls, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RATE_LIMIT_PER_MINUTE=0)
        urls[name] = f"http://127.0.0.1:{port}"
    return urls


class User:
    def __init__(self, config, uid, role="staff", dept="sales"):
        self.id = uid
        self.h = {"Authorization": f"Bearer {mint_token(config, uid, role, dept)}"}


def call(method, url, user=None, **kw):
    headers = dict(user.h) if user else {}
    return requests.request(method, url, headers=headers, timeout=20, **kw)


def made(resp):
    assert resp.status_code in (200, 201), (resp.request.method, resp.url, resp.text[:300])
    return resp.json()


@pytest.fixture(scope="module")
def world(config, gw):
    """N staff users, each owning one object of every type; one manager."""
    tag = uuid.uuid4().hex[:6]
    staff = [User(config, f"sec-{tag}-{i}") for i in range(3)]
    boss = User(config, f"sec-{tag}-boss", "manager", "management")
    for u in staff:
        made(call("PUT", f"{gw['service_desk']}/agents/{u.id}", boss,
                  json={"name": "agent", "categories": [f"c-{tag}"]}))
    objects = {}
    for u in staff:
        c = made(call("POST", f"{gw['customers']}/customers", u, json=customer_data()))
        lead = made(call("POST", f"{gw['sales']}/leads", u, json={
            "source": "website", "customer_name": f"线索{uuid.uuid4().hex[:6]}",
            "contact_name": "李", "need": "设备", "region": "上海", "industry_code": "C35"}))
        opp = made(call("POST", f"{gw['sales']}/opportunities", u, json={
            "customer_id": c["id"], "amount": "1000.00", "expected_close_date": "2027-01-01",
            "background": "b", "needs": "n"}))
        order = made(call("POST", f"{gw['sales']}/orders", u,
                     json={"customer_id": c["id"], "lines": LINES}))
        t = made(call("POST", f"{gw['service_desk']}/tickets", boss, json={
            "kind": "inquiry", "severity": "low", "customer_id": c["id"],
            "complainant_name": "王", "channel": "phone", "subject": "s",
            "description": "d"}))
        t = made(call("POST", f"{gw['service_desk']}/tickets/{t['id']}/assign", boss,
                 json={"assignee_id": u.id}))
        objects[u.id] = {"customers": c["id"], "leads": lead["id"],
                         "opportunities": opp["id"], "orders": order["id"], "tickets": t["id"]}
    return staff, boss, objects


# (service, collection, [(method, suffix, body)]) — read, update, delete-like, export
ACTIONS = {
    "customers": ("customers", [("GET", "", None), ("PATCH", "", {"region": "北京"}),
                                ("POST", "/lost", {"reason_code": "price"}),
                                ("GET", "/history", None), ("GET", "/attachments", None)]),
    "leads": ("sales", [("GET", "", None), ("POST", "/disqualify", {"reason": "x"}),
                        ("POST", "/assign", {"owner_id": "thief"})]),
    "opportunities": ("sales", [("GET", "", None), ("POST", "/stage", {"stage": "propose"}),
                                ("POST", "/lose", {"reason": "x"}),
                                ("GET", "/activities", None)]),
    "orders": ("sales", [("GET", "", None), ("PATCH", "", {"delivery_date": "2027-01-01"}),
                         ("POST", "/cancel", {"reason": "x"}),
                         ("POST", "/payments", {"amount": "1.00"})]),
    "tickets": ("service_desk", [("GET", "", None), ("POST", "/responses", {"message": "x"}),
                                 ("POST", "/resolve", {"resolution": "x",
                                                       "root_cause": "other"}),
                                 ("GET", "/survey", None)]),
}


def test_bola_staff_never_reach_each_others_objects(gw, world):
    staff, boss, objects = world
    attempts = leaks = 0
    leaked = []
    for attacker in staff:
        for victim in staff:
            if victim is attacker:
                continue
            for kind, (svc, actions) in ACTIONS.items():
                oid = objects[victim.id][kind]
                for method, suffix, body in actions:
                    r = call(method, f"{gw[svc]}/{kind}/{oid}{suffix}", attacker, json=body)
                    attempts += 1
                    if r.status_code != 404:
                        leaks += 1
                        leaked.append((attacker.id, kind, method, suffix, r.status_code))
                listing = call("GET", f"{gw[svc]}/{kind}?page_size=100", attacker)
                attempts += 1
                if oid in [i["id"] for i in listing.json().get("items", [])]:
                    leaks += 1
                    leaked.append((attacker.id, kind, "LIST"))
        for export in ("/kpis.csv?period=2026", "/kpis?period=2026", "/scorecards?period=2026"):
            attempts += 1
            if call("GET", gw["reporting"] + export, attacker).status_code != 403:
                leaks += 1
                leaked.append((attacker.id, "reporting", export))
    for victim in staff:  # managers see all
        for kind, (svc, _) in ACTIONS.items():
            assert call("GET", f"{gw[svc]}/{kind}/{objects[victim.id][kind]}",
                        boss).status_code == 200
    RESULTS["bola"] = (attempts, leaks)
    print(f"\nBOLA: {len(staff)} staff x {len(ACTIONS)} object types: "
          f"{attempts} attempts, {leaks} leaks {leaked[:5]}")
    assert leaks == 0, leaked


def _b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def test_token_variants_are_401(config, gw):
    s = config["JWT"]
    now = dt.datetime.now(dt.UTC)
    base = {"sub": "u1", "roles": ["staff"], "department": "sales", "iss": s["issuer"],
            "aud": s["audience"], "iat": now, "exp": now + dt.timedelta(minutes=5)}

    def tok(key=s["key"], alg="HS256", **over):
        return jwt.encode({**base, **over}, key, algorithm=alg)

    none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**base, 'iat': 1, 'exp': 4e9})}."
    variants = {
        "missing": None, "basic": "Basic dTE6cA==", "garbage": "Bearer abc.def.ghi",
        "expired": "Bearer " + tok(exp=now - dt.timedelta(seconds=5)),
        "not-yet-valid nbf": "Bearer " + tok(nbf=now + dt.timedelta(minutes=10)),
        "wrong issuer": "Bearer " + tok(iss="evil"),
        "wrong audience": "Bearer " + tok(aud="other"),
        "wrong key": "Bearer " + tok(key="x" * 40),
        "alg none": "Bearer " + none,
        "HS384 (alg not pinned)": "Bearer " + tok(alg="HS384"),
        "no sub": "Bearer " + jwt.encode({k: v for k, v in base.items() if k != "sub"},
                                         s["key"], algorithm="HS256"),
        "bad roles": "Bearer " + tok(roles=["root"]),
        "no exp": "Bearer " + jwt.encode({k: v for k, v in base.items() if k != "exp"},
                                         s["key"], algorithm="HS256"),
    }
    assert call("GET", gw["customers"] + "/customers",
                User(config, "u1")).status_code == 200
    bad = {}
    for name, header in variants.items():
        h = {"Authorization": header} if header else {}
        r = requests.get(gw["customers"] + "/customers", headers=h, timeout=10)
        if r.status_code != 401:
            bad[name] = r.status_code
    RESULTS["auth"] = (len(variants), len(bad))
    assert not bad, bad


def test_hs_rs_confusion_is_401(config, module_services):
    """A gateway configured for RS256: an HS256 token signed with the public key
    as the HMAC secret is refused."""
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import serialization
    key = crypto.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    port = free_port()
    rs = dict(config["JWT"], algorithm="RS256", key=pub.decode())
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", JWT=rs)
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": "u1", "roles": ["staff"], "iss": rs["issuer"], "aud": rs["audience"],
              "iat": now, "exp": now + dt.timedelta(minutes=5)}
    good = jwt.encode(claims, priv, algorithm="RS256")
    header = _b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64(
        {**claims, "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 300})
    import hashlib
    import hmac
    sig = base64.urlsafe_b64encode(hmac.new(pub, header.encode(), hashlib.sha256).digest())
    forged = header + "." + sig.rstrip(b"=").decode()
    url = f"http://127.0.0.1:{port}/customers"
    assert requests.get(url, headers={"Authorization": f"Bearer {good}"},
                        timeout=10).status_code == 200
    assert requests.get(url, headers={"Authorization": f"Bearer {forged}"},
                        timeout=10).status_code == 401


MASS = [  # (service, path, body builder, protected field, value)
    ("customers", "/customers", "customer", "owner_id", "someone-else"),
    ("customers", "/customers", "customer", "id", 999999),
    ("customers", "/customers", "customer", "version", 7),
    ("customers", "/customers", "customer", "tier", "A"),
    ("sales", "/leads", "lead", "owner_id", "someone-else"),
    ("sales", "/leads", "lead", "id", 999999),
    ("sales", "/orders", "order", "owner_id", "someone-else"),
    ("sales", "/orders", "order", "id", 999999),
    ("sales", "/opportunities", "opp", "owner_id", "someone-else"),
    ("sales", "/opportunities", "opp", "version", 3),
]


def test_mass_assignment_is_422_and_nothing_written(config, gw, world):
    staff, boss, objects = world
    u = staff[1]
    cid = objects[u.id]["customers"]
    bodies = {
        "customer": customer_data,
        "lead": lambda: {"source": "website", "customer_name": f"线索{uuid.uuid4().hex[:6]}",
                         "contact_name": "李", "need": "设备"},
        "order": lambda: {"customer_id": cid, "lines": LINES},
        "opp": lambda: {"customer_id": cid, "amount": "1.00", "expected_close_date":
                        "2027-01-01", "background": "b", "needs": "n"},
    }
    findings = []
    for svc, path, kind, field, value in MASS:
        total = call("GET", f"{gw[svc]}{path}?page_size=1", boss).json()["total"]
        r = call("POST", gw[svc] + path, u, json=dict(bodies[kind](), **{field: value}))
        after = call("GET", f"{gw[svc]}{path}?page_size=1", boss).json()["total"]
        if r.status_code != 422 or after != total:
            findings.append((path, field, r.status_code, after - total))
    for field, value in (("owner_id", "x"), ("id", 5), ("version", 9), ("tier", "A")):
        r = call("PATCH", f"{gw['customers']}/customers/{cid}", u, json={field: value})
        if r.status_code != 422:
            findings.append(("PATCH /customers", field, r.status_code))
    RESULTS["mass"] = (len(MASS) + 4, len(findings))
    print(f"\nmass assignment: {len(MASS) + 4} attempts, findings: {findings}")
    assert not findings, findings


def test_limits_page_body_rate(config, gw, world, module_services):
    staff, boss, _ = world
    r = call("GET", gw["customers"] + "/customers?page_size=100000", boss)
    assert r.status_code == 422 or (r.status_code == 200 and len(r.json()["items"]) <= 100)
    big = {"name": "x" * (1024 * 1024 + 10)}
    r = call("POST", gw["customers"] + "/customers", staff[0], json=big)
    assert r.status_code == 413, r.status_code
    port = free_port()
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                    RATE_LIMIT_PER_MINUTE=5)
    u = User(config, f"rl-{uuid.uuid4().hex[:6]}")
    codes = [call("GET", f"http://127.0.0.1:{port}/customers", u) for _ in range(7)]
    assert [c.status_code for c in codes[:5]] == [200] * 5
    assert codes[5].status_code == 429 and 1 <= int(codes[5].headers["Retry-After"]) <= 60
    other = User(config, f"rl-{uuid.uuid4().hex[:6]}")  # per user, not global
    assert call("GET", f"http://127.0.0.1:{port}/customers", other).status_code == 200


def test_audit_chain_tamper_is_detected(config, gw, world):
    import sqlite3
    staff, boss, objects = world
    u = staff[2]
    cid = objects[u.id]["customers"]
    call("PATCH", f"{gw['customers']}/customers/{cid}", u, json={"region": "北京"})
    ok = call("GET", f"{gw['customers']}/customers/{cid}/history/verify", boss).json()
    assert ok.get("valid", ok.get("ok")) is True, ok
    url = config["DB_URIS"]["customers"]
    if not url.startswith("sqlite"):
        pytest.skip("tamper step edits the SQLite file")
    db = sqlite3.connect(url.split("sqlite:///", 1)[1], timeout=30)
    cols = [r[1] for r in db.execute("PRAGMA table_info(customer_history)")]
    col = next(c for c in ("changes", "diff", "data", "payload", "after") if c in cols)
    db.execute(f"UPDATE customer_history SET {col} = ? WHERE id = (SELECT max(id) FROM "
               "customer_history WHERE customer_id = ?)", (json.dumps({"remark": "forged"}), cid))
    db.commit()
    db.close()
    bad = call("GET", f"{gw['customers']}/customers/{cid}/history/verify", boss).json()
    assert bad.get("valid", bad.get("ok")) is False, bad
