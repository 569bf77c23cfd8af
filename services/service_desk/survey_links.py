"""Signed survey links (plain functions): a JWT (HS256) with the ticket id, a nonce
(``jti``, stored to make the link single-use) and an expiry, signed with a secret
derived from the configuration. The customer's page needs no sign-in: the token is
the credential, and it proves nothing beyond "answer the survey of this ticket"."""
import datetime as dt
import hashlib
import hmac
import secrets

import jwt

from services.common.errors import NotFound

AUDIENCE = "kehu-crm-survey"
DEFAULT_DAYS = 14
ALGORITHM = "HS256"


def secret(config):
    """``SURVEY_LINK_SECRET`` if set, else a key derived from the JWT secret (HS256
    deployments); an RS256 deployment must set ``SURVEY_LINK_SECRET``."""
    own = (config.get("SURVEY_LINK_SECRET") or "").strip()
    if own:
        return own.encode()
    base = ((config.get("JWT") or {}).get("key") or "").encode()
    if not base:
        raise RuntimeError("SURVEY_LINK_SECRET (or JWT.key) must be configured")
    return hmac.new(base, b"kehu-crm survey links v1", hashlib.sha256).digest()


def new_nonce():
    return secrets.token_urlsafe(24)


def sign(config, ticket_id, nonce, expires_at):
    claims = {"aud": AUDIENCE, "tid": int(ticket_id), "jti": nonce,
              "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, secret(config), algorithm=ALGORITHM)


def verify(config, token, now=None):
    """→ (ticket_id, nonce, expired). A bad or tampered token is NotFound; an expired
    one verifies (so the page can say "expired") with ``expired`` True."""
    if not isinstance(token, str) or not 20 <= len(token) <= 1000:
        raise NotFound("survey link not found", code="SURVEY_LINK_INVALID")
    now = now or dt.datetime.now(dt.UTC)
    try:
        claims = jwt.decode(token, secret(config), algorithms=[ALGORITHM], audience=AUDIENCE,
                            options={"require": ["exp", "jti", "tid", "aud"],
                                     "verify_exp": False})
    except jwt.PyJWTError:
        raise NotFound("survey link not found", code="SURVEY_LINK_INVALID") from None
    if not isinstance(claims.get("tid"), int) or not isinstance(claims.get("jti"), str):
        raise NotFound("survey link not found", code="SURVEY_LINK_INVALID")
    expired = now.timestamp() >= float(claims["exp"])
    return claims["tid"], claims["jti"], expired
