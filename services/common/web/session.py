"""Browser sessions: the identity provider's token kept in a cookie, CSRF tokens,
signed flash messages and the language cookie.

The session cookie holds the JWT itself (HttpOnly, SameSite=Strict, Secure over
https); it is verified on every request exactly like the bearer header. The CSRF
token of a session is HMAC-SHA256(server secret, "csrf:" + session token): no
server-side state, a new one with every sign-in, useless without the cookie.
"""
import base64
import hashlib
import hmac
import json
import secrets
import time

SESSION_COOKIE = "crm_token"  # the name the dashboard on 8005 already used
LANG_COOKIE = "crm_lang"
FLASH_COOKIE = "crm_flash"
LOGIN_COOKIE = "crm_login"  # pre-session nonce: CSRF of the sign-in form itself
CSRF_FIELD = "csrf_token"
LANG_MAX_AGE = 365 * 24 * 3600


def server_secret(config):
    """WEB_SECRET from config; else the HS256 JWT key (dev); never empty."""
    secret = config.get("WEB_SECRET") or (config.get("JWT") or {}).get("key") or ""
    if not secret:
        raise RuntimeError("WEB_SECRET (or JWT.key) must be configured for web sessions")
    return secret.encode()


def _mac(config, purpose, value):
    return hmac.new(server_secret(config), f"{purpose}:{value}".encode(),
                    hashlib.sha256).hexdigest()


def _same(expected, submitted):
    """Constant-time comparison of str tokens (bytes: any character may be submitted)."""
    return hmac.compare_digest(expected.encode(), str(submitted).encode("utf-8", "replace"))


def csrf_token(config, session_token):
    """The CSRF token of a session (same for every form of that session)."""
    return _mac(config, "csrf", session_token)


def csrf_ok(config, session_token, submitted):
    if not session_token or not submitted:
        return False
    return _same(csrf_token(config, session_token), submitted)


def login_nonce():
    return secrets.token_urlsafe(24)


def login_csrf(config, nonce):
    return _mac(config, "login", nonce)


def login_csrf_ok(config, nonce, submitted):
    if not nonce or not submitted:
        return False
    return _same(login_csrf(config, nonce), submitted)


def is_https(request):
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" or request.scheme == "https"


def session_token(request):
    """The session cookie, or None."""
    return request.cookies.get(SESSION_COOKIE) or None


def set_session_cookie(response, request, token, expires_at=None):
    max_age = None
    if expires_at is not None:
        max_age = max(0, int(expires_at - time.time()))
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True,
                        samesite="Strict", secure=is_https(request))


def clear_session_cookie(response, request):
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict",
                           secure=is_https(request))


# --- flash: one message carried over a redirect, signed so no one else can plant it ------
def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Flash(tuple):
    """(message, kind) - ``flash[0]``, ``flash[1]`` in templates - with ``details``:
    links shown under the message ([{"text", "href"}], hrefs local paths only)."""

    details = ()

    def __new__(cls, message, kind, details=()):
        obj = super().__new__(cls, (message, kind))
        obj.details = tuple(details)
        return obj


MAX_FLASH_DETAILS = 10
MAX_DETAIL_TEXT = 120  # a cookie stays well under 4 KB


def _clean_details(details):
    out = []
    for item in list(details or ())[:MAX_FLASH_DETAILS]:
        try:
            text = str(item["text"])[:MAX_DETAIL_TEXT]
            href = item.get("href")
            href = href if isinstance(href, str) and safe_next(href, "") == href else None
        except (AttributeError, KeyError, TypeError):
            continue
        out.append({"text": text, "href": href})
    return out


def encode_flash(config, message, kind="info", details=None):
    data = {"m": message, "k": kind}
    if details:
        data["d"] = _clean_details(details)
    body = _b64(json.dumps(data, ensure_ascii=False).encode())
    return f"{body}.{_mac(config, 'flash', body)[:32]}"


def decode_flash(config, value):
    """Flash (message, kind) + details, or None for a missing or forged cookie."""
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    if not _same(_mac(config, "flash", body)[:32], mac):
        return None
    try:
        data = json.loads(_unb64(body))
        return Flash(str(data["m"]), str(data.get("k") or "info"),
                     _clean_details(data.get("d")))
    except (ValueError, KeyError, TypeError):
        return None


def set_flash(response, request, config, message, kind="info", details=None):
    response.set_cookie(FLASH_COOKIE, encode_flash(config, message, kind, details), path="/",
                        httponly=True, samesite="Lax", secure=is_https(request), max_age=120)


def safe_next(url, default="/"):
    """Only local paths ("/x", not "//host" or "http://...") are followed after sign-in."""
    if not url or not isinstance(url, str) or not url.startswith("/") or url.startswith("//") \
            or "\\" in url or any(ord(c) < 32 for c in url):
        return default
    return url
