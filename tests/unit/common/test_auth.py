import datetime as dt

import jwt
import pytest

from services.common.auth import mint_token, verify_token
from services.common.config import load_config
from services.common.errors import Unauthorized

CFG = load_config()


def test_round_trip():
    actor = verify_token(CFG, mint_token(CFG, "u1", "staff", "sales"))
    assert actor["id"] == "u1" and actor["roles"] == ["staff"] and actor["department"] == "sales"


def test_expired():
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(CFG, mint_token(CFG, "u1", now=old, ttl_minutes=5))


def test_alg_none_rejected():
    token = jwt.encode({"sub": "u1", "roles": ["manager"], "iat": 1, "exp": 9999999999,
                        "iss": "kehu-crm", "aud": "kehu-crm"}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        verify_token(CFG, token)


def test_wrong_key_issuer_audience_and_missing_claims():
    now = dt.datetime.now(dt.timezone.utc)
    base = {"sub": "u1", "roles": ["staff"], "iat": now, "exp": now + dt.timedelta(hours=1),
            "iss": "kehu-crm", "aud": "kehu-crm"}
    key = CFG["JWT"]["key"]
    for claims, k in [(base, "another-key-another-key-another-key"),
                      (dict(base, iss="evil"), key), (dict(base, aud="other"), key),
                      ({k2: v for k2, v in base.items() if k2 != "iat"}, key),
                      ({k2: v for k2, v in base.items() if k2 != "sub"}, key),
                      (dict(base, roles=["root"]), key)]:
        with pytest.raises(Unauthorized):
            verify_token(CFG, jwt.encode(claims, k, algorithm="HS256"))


def test_algorithm_is_pinned():
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": "u1", "roles": ["staff"], "iat": now, "exp": now + dt.timedelta(hours=1),
              "iss": "kehu-crm", "aud": "kehu-crm"}
    token = jwt.encode(claims, CFG["JWT"]["key"], algorithm="HS512")
    with pytest.raises(Unauthorized):
        verify_token(CFG, token)


def test_a_remembered_token_still_expires():
    now = dt.datetime.now(dt.timezone.utc)
    token = mint_token(CFG, "u-cache", now=now, ttl_minutes=1)
    assert verify_token(CFG, token)["id"] == "u-cache"  # verified, then remembered
    later = (now + dt.timedelta(minutes=1, seconds=1)).timestamp()
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(CFG, token, now=later)


def test_a_remembered_token_is_not_valid_before_its_window():
    now = dt.datetime.now(dt.timezone.utc)
    key = CFG["JWT"]["key"]
    claims = {"sub": "u-nbf", "roles": ["staff"], "iat": now, "iss": "kehu-crm",
              "aud": "kehu-crm", "exp": now + dt.timedelta(hours=1)}
    token = jwt.encode(claims, key, algorithm="HS256")
    verify_token(CFG, token)
    with pytest.raises(Unauthorized):
        verify_token(CFG, token, now=(now - dt.timedelta(minutes=5)).timestamp())


def test_a_remembered_token_is_checked_again_under_other_settings():
    token = mint_token(CFG, "u-rot")
    verify_token(CFG, token)
    rotated = dict(CFG, JWT=dict(CFG["JWT"], key="a-rotated-key-a-rotated-key-a-rotated"))
    with pytest.raises(Unauthorized):
        verify_token(rotated, token)


def test_callers_cannot_change_the_remembered_actor():
    token = mint_token(CFG, "u-mut", "staff")
    verify_token(CFG, token)["roles"].append("manager")
    assert verify_token(CFG, token)["roles"] == ["staff"]
