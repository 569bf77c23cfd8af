"""JWT: minting dev tokens and verifying tokens at the gateways.

The algorithm is pinned from config (never taken from the token header), so
``alg: none`` and algorithm-confusion tokens fail; exp, iat and sub are
required; issuer and audience are checked.
"""
import datetime as dt
import time
from collections import OrderedDict

import jwt

from services.common.errors import Unauthorized

ROLES = ("staff", "manager", "admin")
DEPARTMENTS = ("sales", "marketing", "service", "management")


def jwt_settings(config):
    s = config.get("JWT") or {}
    return {"algorithm": s.get("algorithm", "HS256"), "key": s.get("key"),
            "issuer": s.get("issuer", "kehu-crm"), "audience": s.get("audience", "kehu-crm"),
            "private_key": s.get("private_key")}


def mint_token(config, user, role="staff", department="sales", name=None, ttl_minutes=720,
               region=None, industries=None, now=None):
    s = jwt_settings(config)
    now = now or dt.datetime.now(dt.timezone.utc)
    roles = [role] if isinstance(role, str) else list(role)
    claims = {"sub": user, "name": name or user, "roles": roles, "department": department,
              "iss": s["issuer"], "aud": s["audience"], "iat": now,
              "exp": now + dt.timedelta(minutes=ttl_minutes)}
    if region:
        claims["region"] = region
    if industries:
        claims["industries"] = list(industries)
    key = s["private_key"] or s["key"]
    return jwt.encode(claims, key, algorithm=s["algorithm"])


VERIFIED_CACHE_SIZE = 4096


def verify_token(config, token, now=None):
    """Return the actor dict for a valid token, else raise Unauthorized.

    A token whose signature and claims were verified once is remembered (bounded
    LRU, keyed by the exact token and the verifying settings) with its time
    window, so a user's next requests skip the signature check; the window
    (``nbf``/``iat``/``exp``) is checked again on every request."""
    s = jwt_settings(config)
    settings = (s["algorithm"], s["key"], s["issuer"], s["audience"])
    now = time.time() if now is None else now
    hit = _verified.get((token, settings))
    if hit is not None:
        not_before, expires, actor = hit
        if now >= expires + LEEWAY:
            del _verified[(token, settings)]
            raise Unauthorized("token expired")
        if now < not_before - LEEWAY:
            raise Unauthorized("invalid token: not yet valid")
        _verified.move_to_end((token, settings))
        return _copy(actor)
    actor, window = _verify(s, token)
    _verified[(token, settings)] = (*window, actor)
    if len(_verified) > VERIFIED_CACHE_SIZE:
        _verified.popitem(last=False)
    return _copy(actor)


def _copy(actor):
    return dict(actor, roles=list(actor["roles"]))


LEEWAY = 0  # seconds; PyJWT's default
_verified = OrderedDict()  # (token, settings) -> (not_before, expires, actor)


def _verify(s, token):
    try:
        claims = jwt.decode(token, s["key"], algorithms=[s["algorithm"]],
                            audience=s["audience"], issuer=s["issuer"], leeway=LEEWAY,
                            options={"require": ["exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not set(roles) <= set(ROLES) or not roles:
        raise Unauthorized("invalid token: roles")
    actor = {"id": str(claims["sub"]), "roles": roles, "department": claims.get("department"),
             "name": claims.get("name"), "region": claims.get("region")}
    not_before = max(float(claims.get("nbf", float("-inf"))), float(claims["iat"]))
    return actor, (not_before, float(claims["exp"]))


def bearer(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()
