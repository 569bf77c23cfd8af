"""JWT: minting tokens and verifying them at the gateways and on every RPC hop.

The algorithm is pinned from config (never taken from the token header), so
``alg: none`` and algorithm-confusion tokens fail; exp, iat and sub are
required; issuer and audience are checked.

Two kinds of principal: users (the identity provider's tokens: roles staff,
manager, admin) and services (``svc`` claim, ``sub`` = ``svc:<name>``, the one
role ``system``), minted by ``crm token --service NAME --role system`` for other
systems and in-process by each service for its event handlers and timers
(``services.common.bus_identity``). Keys: ``JWT.key`` verifies tokens without a
``kid`` header (HS256 secret, or the RS256 public key PEM); ``JWT.keys`` maps
further key ids to keys accepted at the same time (rotation); ``JWT.kid`` +
``JWT.private_key`` (RS256) sign what this process mints.
"""
import datetime as dt
import json
import re
import time
from collections import OrderedDict

import jwt

from services.common.errors import Unauthorized

ROLES = ("staff", "manager", "admin")
SYSTEM_ROLE = "system"
SERVICE_SUBJECT = "svc:"
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
DEPARTMENTS = ("sales", "marketing", "service", "management")


def jwt_settings(config):
    s = config.get("JWT") or {}
    return {"algorithm": s.get("algorithm", "HS256"), "key": s.get("key"),
            "issuer": s.get("issuer", "kehu-crm"), "audience": s.get("audience", "kehu-crm"),
            "private_key": s.get("private_key"), "kid": s.get("kid") or None,
            "keys": _keys(s.get("keys"))}


DEV_KEY_WARNING = (
    "using the development signing key from config.yml: anyone with this repository can "
    "mint tokens; set JWT_KEY (or JWT_PRIVATE_KEY + JWT_KEYS for RS256) for anything but "
    "local development")


def dev_key_in_use(config):
    """True when this config accepts tokens signed with the public HS256 key that
    config.yml ships as ``${JWT_KEY:...}``'s default (``JWT.key`` or one of
    ``JWT.keys``): anyone with the repository can then mint a valid (system) token.
    ``crm run`` warns (``DEV_KEY_WARNING``) but still starts: `make run` is a dev stack."""
    from services.common.config import shipped_default
    dev = shipped_default("JWT_KEY")
    s = jwt_settings(config)
    if not dev or not str(s["algorithm"]).upper().startswith("HS"):
        return False  # RS256: a shared secret verifies nothing
    return s["key"] == dev or dev in s["keys"].values()


def _keys(raw):
    """JWT.keys: a mapping, or its JSON text (from the JWT_KEYS environment variable)."""
    if isinstance(raw, str) and raw.strip():
        raw = json.loads(raw)
    return {str(k): v for k, v in (raw or {}).items() if v}


def _signing(s):
    key = s["private_key"] or s["key"]
    if not key:
        raise RuntimeError("JWT.key (or JWT.private_key) must be configured to mint tokens")
    return key, ({"kid": s["kid"]} if s["kid"] else None)


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
    key, headers = _signing(s)
    return jwt.encode(claims, key, algorithm=s["algorithm"], headers=headers)


def mint_service_token(config, service, ttl_minutes=10, now=None):
    """A service principal's token: ``sub`` ``svc:<service>``, role ``system``."""
    if not isinstance(service, str) or not _SERVICE_NAME.match(service):
        raise ValueError("service name: lower-case letters, digits, '_' or '-'")
    s = jwt_settings(config)
    now = now or dt.datetime.now(dt.timezone.utc)
    claims = {"sub": SERVICE_SUBJECT + service, "svc": service, "name": service,
              "roles": [SYSTEM_ROLE], "iss": s["issuer"], "aud": s["audience"], "iat": now,
              "exp": now + dt.timedelta(minutes=ttl_minutes)}
    key, headers = _signing(s)
    return jwt.encode(claims, key, algorithm=s["algorithm"], headers=headers)


VERIFIED_CACHE_SIZE = 4096


def verify_token(config, token, now=None):
    """Return the actor dict for a valid token, else raise Unauthorized.

    A token whose signature and claims were verified once is remembered (bounded
    LRU, keyed by the exact token and the verifying settings) with its time
    window, so a user's next requests skip the signature check; the window
    (``nbf``/``iat``/``exp``) is checked again on every request."""
    s = jwt_settings(config)
    settings = (s["algorithm"], s["key"], s["issuer"], s["audience"],
                tuple(sorted(s["keys"].items())))
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


def _key(s, token):
    """The key for the token's ``kid`` header (none: ``JWT.key``); unknown ids fail."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    if kid is None:
        key = s["key"]
    elif not isinstance(kid, str) or kid not in s["keys"]:
        raise Unauthorized("invalid token: unknown key id")
    else:
        key = s["keys"][kid]
    if not key:
        raise Unauthorized("invalid token: no verification key configured")
    return key, kid


def _verify(s, token):
    if not isinstance(token, str) or not token:
        raise Unauthorized("missing token")
    key, kid = _key(s, token)
    try:
        claims = jwt.decode(token, key, algorithms=[s["algorithm"]],
                            audience=s["audience"], issuer=s["issuer"], leeway=LEEWAY,
                            options={"require": ["exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not roles:
        raise Unauthorized("invalid token: roles")
    if "svc" in claims or SYSTEM_ROLE in roles:
        actor = _service_actor(claims, roles)
    elif not set(roles) <= set(ROLES):
        raise Unauthorized("invalid token: roles")
    else:
        actor = {"id": str(claims["sub"]), "roles": roles,
                 "department": claims.get("department"), "name": claims.get("name"),
                 "region": claims.get("region")}
    if isinstance(kid, str) and kid.startswith(SERVICE_SUBJECT) \
            and actor.get("service") != kid[len(SERVICE_SUBJECT):]:
        # a service's own signing key (kid "svc:<name>") signs that service's principal
        # only: holding it does not let a service mint users or other services
        raise Unauthorized("invalid token: this key signs only its own service")
    not_before = max(float(claims.get("nbf", float("-inf"))), float(claims["iat"]))
    return actor, (not_before, float(claims["exp"]))


def _service_actor(claims, roles):
    """A service principal: exactly the role ``system``, ``sub`` = ``svc:<svc>``. Its
    actor has no ``id`` (the system, for every access rule) and names the service."""
    service = claims.get("svc")
    if (roles != [SYSTEM_ROLE] or not isinstance(service, str)
            or not _SERVICE_NAME.match(service) or claims["sub"] != SERVICE_SUBJECT + service):
        raise Unauthorized("invalid token: service principal")
    return {"id": None, "roles": [SYSTEM_ROLE], "department": None, "name": service,
            "region": None, "service": service}


def bearer(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()
