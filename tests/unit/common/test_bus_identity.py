"""Tokens on the bus (issue 21): service principals, key ids and rotation, RS256 with
a public key, the in-process service token. Tokens are built here with PyJWT from
RFC 7519 claims, except where the project's minting is itself what is tested
(then they are checked by PyJWT, not by the project's verifier)."""
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common import bus_identity
from services.common.actors import ANONYMOUS, AUTH_KEY, CONTEXT_KEY, Actor, actor_from_context
from services.common.auth import mint_service_token, verify_token
from services.common.errors import Forbidden, Unauthorized
from services.contract.public import PUBLIC_RPC, is_public

HS = "unit-test-secret-0123456789-abcdefghij"


def hs_config(**jwt_over):
    return {"JWT": dict({"algorithm": "HS256", "key": HS, "issuer": "kehu-crm",
                         "audience": "kehu-crm"}, **jwt_over)}


def claims(**over):
    now = int(time.time())
    base = {"sub": "u1", "roles": ["staff"], "department": "sales", "iss": "kehu-crm",
            "aud": "kehu-crm", "iat": now, "exp": now + 300}
    base.update(over)
    return base


def rsa_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo
                                           ).decode()
    return private, public


def test_a_minted_service_token_is_a_standard_jwt_of_the_service_principal():
    token = mint_service_token(hs_config(), "billing", ttl_minutes=5)
    seen = jwt.decode(token, HS, algorithms=["HS256"], audience="kehu-crm", issuer="kehu-crm")
    assert seen["sub"] == "svc:billing" and seen["svc"] == "billing"
    assert seen["roles"] == ["system"] and seen["exp"] - seen["iat"] == 300
    actor = verify_token(hs_config(), token)
    assert actor == {"id": None, "roles": ["system"], "department": None, "name": "billing",
                     "region": None, "service": "billing"}
    assert Actor(actor).is_system and Actor(actor).is_admin


@pytest.mark.parametrize("bad", [
    {"roles": ["system"]},                                      # no svc claim
    {"sub": "u1", "svc": "billing", "roles": ["system"]},       # sub is not svc:billing
    {"sub": "svc:billing", "svc": "billing", "roles": ["system", "admin"]},
    {"sub": "svc:Bad Name", "svc": "Bad Name", "roles": ["system"]},
    {"sub": "svc:billing", "svc": "billing", "roles": ["staff"]},
    {"roles": ["superuser"]},
])
def test_only_a_well_formed_service_principal_is_system(bad):
    token = jwt.encode(claims(**bad), HS, algorithm="HS256")
    with pytest.raises(Unauthorized):
        verify_token(hs_config(), token)


def test_rotation_old_and_new_keys_by_kid_unknown_kid_refused():
    config = hs_config(keys={"2026-12": "new-secret-0123456789-abcdefghijklmn",
                             "2026-06": "old-secret-0123456789-abcdefghijklmn"})
    for kid, key in config["JWT"]["keys"].items():
        token = jwt.encode(claims(sub=f"u-{kid}"), key, algorithm="HS256", headers={"kid": kid})
        assert verify_token(config, token)["id"] == f"u-{kid}"
    # a kid naming one key, signed with another: refused
    cross = jwt.encode(claims(), config["JWT"]["keys"]["2026-06"], algorithm="HS256",
                       headers={"kid": "2026-12"})
    with pytest.raises(Unauthorized):
        verify_token(config, cross)
    with pytest.raises(Unauthorized):
        verify_token(config, jwt.encode(claims(), HS, algorithm="HS256",
                                        headers={"kid": "retired"}))
    # keys from the environment arrive as JSON text
    as_text = hs_config(keys=json.dumps(config["JWT"]["keys"]))
    token = jwt.encode(claims(sub="json"), config["JWT"]["keys"]["2026-12"], algorithm="HS256",
                       headers={"kid": "2026-12"})
    assert verify_token(as_text, token)["id"] == "json"


def test_rs256_verifies_with_the_public_key_and_refuses_hs256_confusion():
    private, public = rsa_pair()
    config = {"JWT": {"algorithm": "RS256", "key": public, "issuer": "kehu-crm",
                      "audience": "kehu-crm"}}
    token = jwt.encode(claims(sub="rs-user"), private, algorithm="RS256")
    assert verify_token(config, token)["id"] == "rs-user"
    # the public key used as an HS256 secret (algorithm confusion): refused
    import hashlib
    import hmac
    head = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(claims(roles=["admin"])).encode())
    sig = jwt.utils.base64url_encode(hmac.new(public.encode(), head + b"." + body,
                                              hashlib.sha256).digest())
    with pytest.raises(Unauthorized):
        verify_token(config, (head + b"." + body + b"." + sig).decode())


def test_a_services_own_key_signs_only_that_service():
    priv_sales, pub_sales = rsa_pair()
    idp_private, idp_public = rsa_pair()
    verifier = {"JWT": {"algorithm": "RS256", "key": idp_public, "issuer": "kehu-crm",
                        "audience": "kehu-crm", "keys": {"svc:sales": pub_sales}}}
    sales_cfg = {"JWT": dict(verifier["JWT"], private_key=priv_sales, kid="svc:sales")}
    own = mint_service_token(sales_cfg, "sales")
    assert verify_token(verifier, own)["service"] == "sales"
    for forged in (claims(sub="svc:customers", svc="customers", roles=["system"]),
                   claims(sub="boss", roles=["admin"])):
        token = jwt.encode(forged, priv_sales, algorithm="RS256", headers={"kid": "svc:sales"})
        with pytest.raises(Unauthorized):
            verify_token(verifier, token)
    assert verify_token(verifier, jwt.encode(claims(sub="idp-user"), idp_private,
                                             algorithm="RS256"))["id"] == "idp-user"


def test_authenticate_no_identity_is_anonymous_only_for_public_methods():
    config = hs_config()
    assert is_public("service_desk", "search_faq")
    assert bus_identity.authenticate(config, "service_desk", "search_faq", {}) == ANONYMOUS
    with pytest.raises(Unauthorized):
        bus_identity.authenticate(config, "service_desk", "create_faq", {})
    with pytest.raises(Unauthorized):  # a forged actor alone is nobody
        bus_identity.authenticate(config, "customers", "list_customers",
                                  {CONTEXT_KEY: json.dumps({"id": None, "roles": ["admin"]})})
    for malformed in ("Basic dXNlcjpwdw==", "Bearer", 42):
        with pytest.raises(Unauthorized):
            bus_identity.authenticate(config, "service_desk", "search_faq",
                                      {AUTH_KEY: malformed})
    token = jwt.encode(claims(), HS, algorithm="HS256")
    who = bus_identity.authenticate(config, "customers", "list_customers",
                                    {AUTH_KEY: f"Bearer {token}"})
    assert who["id"] == "u1" and who["roles"] == ["staff"]
    assert set(PUBLIC_RPC) == {"service_desk"}


def test_context_without_an_actor_is_anonymous_never_system():
    nobody = actor_from_context({})
    assert not nobody.is_system and not nobody.is_manager and not nobody.is_admin
    assert not nobody.can_see(None) and not nobody.can_see("u1")
    with pytest.raises(Forbidden):
        nobody.owner_scope()
    with pytest.raises(Forbidden):
        nobody.resolve_at("2020-01-01T00:00:00+00:00")
    assert nobody.label == "anonymous"


def test_service_token_is_cached_and_renewed_before_it_expires(monkeypatch):
    config = hs_config(key="cache-secret-0123456789-abcdefghijkl")
    first = bus_identity.service_token(config, "sales")
    assert bus_identity.service_token(config, "sales") == first
    later = time.time() + bus_identity.SERVICE_TOKEN_MINUTES * 60 - 60
    monkeypatch.setattr(bus_identity.time, "time", lambda: later)
    bus_identity.service_token(config, "sales")
    expiries = [exp for (svc, *_), (_tok, exp) in bus_identity._tokens.items() if svc == "sales"]
    assert max(expiries) >= later + bus_identity.SERVICE_TOKEN_MINUTES * 60 - 1  # re-minted
    data = bus_identity.act_as_service({"call_id_stack": ["x"]}, config, "sales")
    assert json.loads(data[CONTEXT_KEY])["service"] == "sales"
    assert data[AUTH_KEY].startswith("Bearer ")


def test_event_handlers_and_timers_act_as_their_service_rpc_keeps_the_callers():
    from types import SimpleNamespace

    from nameko.rpc import Rpc
    from nameko.timer import Timer

    config = hs_config()
    provider = bus_identity.ServiceIdentity()
    provider.container = SimpleNamespace(config=config, service_name="service_desk")
    forged = {AUTH_KEY: "Bearer forged", CONTEXT_KEY: json.dumps({"id": "x", "roles": ["admin"]})}
    timer_ctx = SimpleNamespace(entrypoint=Timer(interval=1), data=dict(forged))
    provider.worker_setup(timer_ctx)
    token = timer_ctx.data[AUTH_KEY].split(" ", 1)[1]
    seen = jwt.decode(token, HS, algorithms=["HS256"], audience="kehu-crm")
    assert seen["svc"] == "service_desk" and seen["roles"] == ["system"]
    assert json.loads(timer_ctx.data[CONTEXT_KEY])["service"] == "service_desk"
    rpc_ctx = SimpleNamespace(entrypoint=Rpc(), data=dict(forged))
    provider.worker_setup(rpc_ctx)  # verified by the entrypoint already: untouched
    assert rpc_ctx.data == forged


def test_bus_setup_without_rights_says_what_to_run(tmp_path):
    """No rabbitmqctl for a remote broker, no management API answering: nothing is
    changed and the rabbitmqctl lines for every principal are given."""
    from services.common.bus_provision import provision
    from services.common.bus_users import principals
    done = provision("amqp://admin:pw@127.0.0.2:5672/crm", tmp_path, prefix="x.")
    assert not done["ok"] and done["vhost"] == "crm"
    users = [user for user, _kind, _service in principals("x.")]
    for user in users:
        assert any(line.startswith(f"rabbitmqctl add_user {user} ") for line in done["commands"])
        assert any(f"set_permissions -p 'crm' {user} " in line for line in done["commands"])
    assert (tmp_path / "bus-credentials.json").stat().st_mode & 0o777 == 0o600


def test_rabbitmq_password_hash_matches_the_documentations_example():
    """RabbitMQ's passwords guide ("Computing password hashes"): password test12 with
    salt 0x908DC60A is kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR."""
    from services.common.bus_provision import password_hash
    assert password_hash("test12", bytes.fromhex("908DC60A")) == \
        "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"
