"""``@page``: an HTML page on a gateway, next to the JSON routes.

A page method returns ``render(template, **ctx)`` or ``redirect(url, flash=...)``
(or a werkzeug Response). The decorator signs the user in from the session
cookie (a missing, expired or invalid token -> 303 to /login with a message),
puts the actor into the worker context like ``route`` does (so every RPC runs
as the user), checks the CSRF token of every state-changing request (403 page,
nothing called), and turns errors into pages: CrmError by its status (404
"not found or not yours", 403, 409 "someone changed this record", 422 with the
field errors, 503), RemoteError/anything else a 500 page without internals,
a silent bus 503. No stack trace leaves the gateway.
"""
import functools
import logging
import secrets
import time
from urllib.parse import urlencode

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from services.common import metrics
from services.common.auth import verify_token
from services.common.errors import CrmError, PayloadTooLarge, Unauthorized, ValidationError
from services.common.web import badges, directory, i18n, session, summary_labels
from services.common.web.field_messages import translate_message
from services.common.web.forms import Form
from services.common.web.templating import environment, lenient_environment, static_url

log = logging.getLogger(__name__)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_MAX_BODY = 6 * 1024 * 1024  # a 5 MB attachment plus the form around it

ERROR_KEYS = {  # status -> (title key, message key)
    400: ("error.422.title", "error.422.message"),
    401: ("error.401.title", "error.401.message"),
    403: ("error.403.title", "error.403.message"),
    404: ("error.404.title", "error.404.message"),
    405: ("error.405.title", "error.405.message"),
    409: ("error.409.title", "error.409.message"),
    410: ("error.410.title", "error.410.message"),  # Merged (a NotFound naming the kept one)
    413: ("error.413.title", "error.413.message"),
    422: ("error.422.title", "error.422.message"),
    429: ("error.429.title", "error.429.message"),
    500: ("error.500.title", "error.500.message"),
    503: ("error.503.title", "error.503.message"),
}


class Rendered:
    """What ``render`` returns; the decorator turns it into a Response."""

    def __init__(self, template, status=200, headers=None, ctx=None):
        self.template, self.status, self.headers, self.ctx = template, status, headers, ctx or {}


class Redirect:
    def __init__(self, url, flash=None, kind="info", status=303, details=None):
        self.url, self.flash, self.kind, self.status = url, flash, kind, status
        self.details = details


def render(template, status=200, headers=None, **ctx):
    """A page from ``template`` (service folder first, then kit/) with ``ctx``."""
    return Rendered(template, status, headers, ctx)


def redirect(url, flash=None, kind="info", status=303, details=None):
    """303 to ``url`` (a local path); ``flash`` shows once on the next page.
    ``kind``: info | success | warning | error. ``details``: up to 10 links listed
    under the message, ``[{"text": ..., "href": "/app/..." or None}]`` (text cut to
    120 characters; an href that is not a local path is dropped)."""
    return Redirect(url, flash, kind, status, details)


def service_of(gateway):
    """'customers' for services.customers.gateway:CustomersGateway (class or instance)."""
    cls = gateway if isinstance(gateway, type) else type(gateway)
    parts = cls.__module__.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "services" else None


class PageContext:
    """Per-request state of a page: language, translator, actor, CSRF, flash.
    Reach it from a page method with ``page_context(request)``."""

    def __init__(self, request, config, service=None):
        self.request = request
        self.config = config
        self.service = service
        asked = i18n.normalise_lang(request.args.get("lang"))
        self.set_lang = asked
        self.lang = asked or i18n.normalise_lang(request.cookies.get(session.LANG_COOKIE)) \
            or i18n.DEFAULT_LANG
        self.t = i18n.translator(self.lang, self.service)
        self.actor = None
        self.token = None
        self.new_nonce = None
        self.flash = session.decode_flash(self.config, request.cookies.get(session.FLASH_COOKIE))
        self.flash_shown = False
        self.badge_source = None  # the gateway's header_badges(actor), set by @page
        self.badges_on = True
        self.csp_nonce = secrets.token_urlsafe(16)  # one per answer: CSP script-src
        request.crm_page = self

    def message(self, text):
        """A service's English message in the page's language: its ``msg:<text>``
        entry, else the kit's generic marshmallow patterns (field_messages)."""
        return translate_message(text, self.t, self.lang)

    # --- sign-in ---------------------------------------------------------------------------
    def sign_in_from_cookie(self):
        """The actor of a valid session cookie, else None (never raises)."""
        token = session.session_token(self.request)
        if not token:
            return None
        try:
            actor = verify_token(self.config, token)
        except Unauthorized:
            return None
        self.actor, self.token = actor, token
        return actor

    # --- CSRF ------------------------------------------------------------------------------
    @property
    def csrf_token(self):
        if self.token:
            return session.csrf_token(self.config, self.token)
        nonce = self.request.cookies.get(session.LOGIN_COOKIE) or self.new_nonce
        if not nonce:
            self.new_nonce = nonce = session.login_nonce()
        return session.login_csrf(self.config, nonce)

    def csrf_valid(self):
        submitted = self.request.form.get(session.CSRF_FIELD) or \
            self.request.headers.get("X-CSRF-Token")
        if self.token:
            return session.csrf_ok(self.config, self.token, submitted)
        return session.login_csrf_ok(self.config, self.request.cookies.get(session.LOGIN_COOKIE),
                                     submitted)

    # --- rendering -------------------------------------------------------------------------
    def lang_url(self, lang):
        """This page in ``lang``; a page answering a POST (a 422 re-render) links to
        the page the form came from (the Referer's path, local only) or /."""
        from urllib.parse import urlencode, urlsplit
        if self.request.method in SAFE_METHODS:
            args = self.request.args.copy()
            path = self.request.path
        else:
            ref = urlsplit(self.request.headers.get("Referer", ""))
            same = ref.netloc in ("", self.request.host)
            path = session.safe_next(ref.path, "/") if same else "/"
            from werkzeug.datastructures import MultiDict
            args = MultiDict()
        args["lang"] = lang
        return path + "?" + urlencode(list(args.items(multi=True)))

    def url_with(self, **params):
        """This page's URL with some query parameters replaced (None or "" drops one):
        ``url_with(page=3)`` keeps the filters — the pager's ``url_for``."""
        from urllib.parse import urlencode
        args = self.request.args.copy()
        for key, value in params.items():
            args.pop(key, None)
            if value not in (None, ""):
                args[key] = value
        query = urlencode(list(args.items(multi=True)))
        return self.request.path + (f"?{query}" if query else "")

    @property
    def is_manager(self):
        return bool(set((self.actor or {}).get("roles") or ()) & {"manager", "admin"})

    def base_context(self):
        actor = self.actor
        user = None
        if actor:
            user = dict(actor, display_name=directory.display_name(actor),
                        is_manager=self.is_manager)
        links = [(svc, title, self.switcher_url(svc, actor))
                 for svc, title, _url in directory.workspaces_for(self.config, actor)] \
            if actor else []
        # home: this workspace if it is one of the actor's own (a staff member's
        # scorecard on 8005 is not), else the first of their own, else the first
        homes = [(svc, url) for svc, _t, url in links if directory.is_home_for(actor, svc)]
        if not links or any(svc == self.service for svc, _u in homes):
            home_url = "/"
        else:
            home_url = homes[0][1] if homes else links[0][2]
        return {
            "home_url": home_url, "url_with": self.url_with,
            "tz": self.config.get("CRM_TIMEZONE") or "Asia/Shanghai",
            "t": self.t, "tmsg": self.message, "lang": self.lang,
            "html_lang": i18n.HTML_LANG[self.lang],
            "langs": i18n.LANGS, "lang_url": self.lang_url,
            "user": user, "service": self.service,
            # relative links (/go/<service> redirects to the configured URL): no absolute
            # URL in a page, and the targets stay server-side configuration
            "workspaces": links,
            "csrf_token": self.csrf_token, "csrf_field": session.CSRF_FIELD,
            "flash": self.take_flash(), "request_path": self.request.path,
            "full_path": self.request.full_path.rstrip("?"),
            "static": lambda name: static_url(name, self.service),
            "breadcrumbs": [], "form": None, "page_title": None,
            "header_badges": (badges.collect(self.badge_source, actor, self.config, self.t)
                              if self.badges_on else []),
            "csp_nonce": self.csp_nonce,
            # the brand's workspace name as this user knows it (staff on 8005: 我的绩效)
            "workspace_title": (directory.entry_for(actor, self.service)["title"]
                                if self.service in directory.WORKSPACES
                                else f"workspace.{self.service}"),
        }

    def switcher_url(self, service, actor):
        """A switcher link: relative (``/go/<service>`` redirects to the configured
        URL, so no absolute URL is in a page), to the entry's landing page if any."""
        to = directory.entry_for(actor, service)["to"]
        if service == self.service:
            return to or "/"
        return f"/go/{service}" + (f"?{urlencode({'to': to})}" if to else "")

    def take_flash(self):
        self.flash_shown = self.flash is not None
        return self.flash

    def render(self, template, status=200, headers=None, **ctx):
        if status >= 500:  # the bus may be what failed: no badge waits on it
            self.badges_on = False
        context = self.base_context()
        context.update(ctx)
        html = environment(self.service).get_template(template).render(context)
        html = summary_labels.name_fields(html, self.t)
        resp = Response(html, status=status, mimetype="text/html", headers=headers)
        return self.finish(resp)

    def finish(self, resp):
        """Cookies every page answer carries: language, flash consumed, login nonce."""
        if self.set_lang:
            resp.set_cookie(session.LANG_COOKIE, self.set_lang, max_age=session.LANG_MAX_AGE,
                            path="/", httponly=True, samesite="Lax",
                            secure=session.is_https(self.request))
        if self.flash_shown:
            resp.delete_cookie(session.FLASH_COOKIE, path="/")
        if self.new_nonce:
            resp.set_cookie(session.LOGIN_COOKIE, self.new_nonce, path="/", httponly=True,
                            samesite="Strict", secure=session.is_https(self.request))
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", content_security_policy(
                self.csp_nonce))
        return resp

    def to_response(self, result):
        if isinstance(result, Rendered):
            return self.render(result.template, result.status, result.headers, **result.ctx)
        if isinstance(result, Redirect):
            resp = Response(status=result.status, headers={"Location": result.url})
            if result.flash:
                session.set_flash(resp, self.request, self.config, result.flash, result.kind,
                                  result.details)
            return self.finish(resp)
        if isinstance(result, Response):
            return self.finish(result)
        if isinstance(result, str):
            return self.finish(Response(result, mimetype="text/html"))
        raise TypeError(f"a page returns render(...), redirect(...) or a Response, "
                        f"not {type(result).__name__}")

    def error_page(self, status, detail=None, form=None, title_key=None, message_key=None,
                   links=None):
        """The kit's error page; ``links``: ``[(label, local path, element id)]`` shown
        as buttons before "home" (where to go instead: a staff member's own scorecard)."""
        title, message = ERROR_KEYS.get(status, ERROR_KEYS[500])
        links = [(label, href, eid) for label, href, eid in links or ()
                 if isinstance(href, str) and href.startswith("/") and not href.startswith("//")]
        return self.render("kit/error.html", status=status, status_code=status,
                           title=self.t(title_key or title), message=self.t(message_key or message),
                           detail=detail, form=form, page_title=self.t(title_key or title),
                           error_links=links)

    def login_redirect(self, reason="signin"):
        from urllib.parse import urlencode
        nxt = self.request.full_path.rstrip("?") if self.request.method == "GET" else "/"
        resp = Response(status=303, headers={
            "Location": "/login?" + urlencode({"reason": reason, "next": nxt})})
        if session.session_token(self.request):
            session.clear_session_cookie(resp, self.request)
        return self.finish(resp)


def content_security_policy(nonce):
    """Kit pages: everything from this gateway only. Scripts: files under /static
    (no inline script or on* attribute in any template; an inline one needs
    ``nonce="{{ csp_nonce }}"``). Styles also inline: the dashboard bar's scoped
    <style>, pygal's SVG charts and a few width bars use them."""
    return ("default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def page_context(request):
    """The PageContext of the current page request (lang, t, actor, csrf_token …)."""
    return request.crm_page


def wants_html(request):
    """True when the client prefers text/html over JSON explicitly (a browser);
    ``*/*`` (curl, requests, API clients) and JSON-first clients get JSON."""
    accept = request.accept_mimetypes
    html = accept.quality("text/html") if "text/html" in accept.values() else 0
    if not html:
        html = max((q for v, q in accept if v == "text/html"), default=0)
    json_q = max((q for v, q in accept if v == "application/json"), default=0)
    return html > 0 and html > json_q


def _unauthorized_reason(exc):
    return "expired" if "expired" in str(exc) else "invalid"


def page(method, url, *, auth=True, csrf=None, max_body=DEFAULT_MAX_BODY, form_template=None,
         form_context=None):
    """Decorate a gateway method as an HTML page (see module docstring).

    ``auth``: sign-in required (False: public page; the actor is still read from a
    valid cookie for the header). ``csrf``: check the CSRF token (default: every
    method but GET/HEAD/OPTIONS). ``form_template``: on an escaping ValidationError,
    re-render this template with ``form`` (entered values + errors) and status 422;
    ``form_context(self, request, **path)`` supplies the rest of its context."""
    from services.common.gateway import _UNAVAILABLE, JsonHttp, rate_limit_retry_after
    caught = (Exception, *_UNAVAILABLE)  # eventlet.Timeout is a BaseException
    check_csrf = (method.upper() not in SAFE_METHODS) if csrf is None else csrf

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, request, **kwargs):
            began = time.perf_counter()
            ctx = None
            try:
                ctx = PageContext(request, self.container_config, service_of(self))
                ctx.badge_source = getattr(self, "header_badges", None)
                if (request.content_length or 0) > max_body:
                    raise PayloadTooLarge(f"request body exceeds {max_body} bytes")
                if auth:
                    token = session.session_token(request)
                    if not token:
                        resp = ctx.login_redirect("signin")
                        return resp
                    try:
                        actor = verify_token(self.container_config, token)
                    except Unauthorized as exc:
                        resp = ctx.login_redirect(_unauthorized_reason(exc))
                        return resp
                    ctx.actor, ctx.token = actor, token
                    limit = int(self.container_config.get("RATE_LIMIT_PER_MINUTE", 600) or 0)
                    wait = rate_limit_retry_after(self.name, actor["id"], limit)
                    if wait is not None:
                        resp = ctx.error_page(429)
                        resp.headers["Retry-After"] = str(wait)
                        return resp
                else:
                    ctx.sign_in_from_cookie()
                if ctx.actor:
                    _act_as(self, ctx.actor, ctx.token)
                if check_csrf and not ctx.csrf_valid():
                    resp = ctx.error_page(403, title_key="error.csrf.title",
                                          message_key="error.csrf.message")
                    return resp
                resp = ctx.to_response(fn(self, request, **kwargs))
            except caught as exc:  # every error becomes a page
                resp = _error_response(ctx, request, exc, method, url, form_template,
                                       form_context, self, kwargs)
            finally:
                if "resp" in locals():
                    metrics.HTTP_REQUESTS.labels(self.name, url, method,
                                                 str(resp.status_code)).inc()
                    metrics.HTTP_LATENCY.labels(self.name, url, method).observe(
                        time.perf_counter() - began)
            return resp

        wrapper.crm_page = {"method": method, "url": url, "auth": auth, "csrf": check_csrf}
        return JsonHttp.decorator(method, url)(wrapper)

    return decorator


def _error_response(ctx, request, exc, method, url, form_template, form_context, gateway,
                    kwargs):
    """The page for an error escaping a page method. An error while building that
    page (a form_context that fails, a body that cannot be parsed) is the 500 page,
    never an exception out of the gateway."""
    from services.common.gateway import _UNAVAILABLE
    try:
        if ctx is None:
            raise exc
        if isinstance(exc, ValidationError):
            form = Form(request).with_errors(exc)
            if form_template:
                extra = form_context(gateway, request, **kwargs) if form_context else {}
                return ctx.render(form_template, status=422, form=form, **extra)
            return ctx.error_page(422, form=form)
        if isinstance(exc, CrmError):
            return _crm_error_page(ctx, request, exc)
    except Exception:  # noqa: BLE001 - the declared error's page failed: the 500 page
        log.exception("error page for %s failed on page %s %s", type(exc).__name__, method, url)
        return _safe_error(ctx, request, 500)
    if isinstance(exc, RemoteError):
        log.error("undeclared remote error on page %s %s: %s", method, url, exc.exc_type)
        return _safe_error(ctx, request, 500)
    if isinstance(exc, _UNAVAILABLE):
        log.warning("service unavailable on page %s %s: %r", method, url, exc)
        return _safe_error(ctx, request, 503)
    log.error("unhandled error on page %s %s", method, url, exc_info=exc)
    return _safe_error(ctx, request, 500)


def _act_as(gateway, actor, token):
    """Put the actor (and the JWT it was verified from, so it goes on every hop)
    into the worker context, as ``route`` does."""
    try:
        gateway.actor.set(actor, token=token)
    except TypeError:  # an actor provider that does not forward the token
        gateway.actor.set(actor)


def _crm_error_page(ctx, request, exc):
    if isinstance(exc, Unauthorized):
        return ctx.login_redirect(_unauthorized_reason(exc))
    status = exc.http_status if exc.http_status in ERROR_KEYS else 500
    detail = exc.message if status in (403, 409, 413) else None
    return _safe_error(ctx, request, status, detail)


def _safe_error(ctx, request, status, detail=None):
    """An error page. If the full page fails (its header's context: the switcher,
    the user box, a template needing what this code does not give it), the same
    page with the layout's bare context (no user, no switcher, no flash); only if
    even that fails a plain one. Never a traceback."""
    try:
        if ctx is None:
            raise LookupError("no page context")
        return ctx.error_page(status, detail=detail)
    except Exception:  # noqa: BLE001 - fall back to the bare layout below
        log.exception("error page failed (status %s): serving it with the bare layout", status)
    try:
        return bare_error_page(ctx, request, status)
    except Exception:  # noqa: BLE001 - the last line of defence: never a traceback
        log.exception("bare error page failed (status %s)", status)
        return Response(f"<!DOCTYPE html><title>{status}</title><h1>{status}</h1>",
                        status=status, mimetype="text/html")


def bare_error_page(ctx, request, status):
    """The kit's error page in its layout from a context that depends on nothing
    but the catalogue and the templates: no actor, switcher, badges, flash or
    cookies (each of those may be what failed), and a variable the templates ask
    for that this code does not know renders as nothing (a process still running
    older code than its templates: the customers pages' "error page failed")."""
    service = getattr(ctx, "service", None)
    lang = getattr(ctx, "lang", None) or i18n.DEFAULT_LANG
    t = i18n.translator(lang, service)
    title, message = ERROR_KEYS.get(status, ERROR_KEYS[500])
    nonce = secrets.token_urlsafe(16)

    def static(name):
        try:
            return static_url(name, service)
        except Exception:  # noqa: BLE001 - an unversioned URL still loads the style
            return f"/static/{name}"

    context = {
        "home_url": "/", "url_with": lambda **params: "/", "tz": "Asia/Shanghai",
        "t": t, "tmsg": lambda text: text, "lang": lang, "html_lang": i18n.HTML_LANG[lang],
        "langs": i18n.LANGS, "lang_url": lambda code: f"/?lang={code}", "user": None,
        "service": None, "workspaces": [], "csrf_token": "", "csrf_field": session.CSRF_FIELD,
        "flash": None, "request_path": "/", "full_path": "/", "static": static,
        "breadcrumbs": [], "form": None, "header_badges": [], "csp_nonce": nonce,
        "workspace_title": "app.name", "status_code": status, "title": t(title),
        "message": t(message), "detail": None, "page_title": t(title),
    }
    html = lenient_environment(service).get_template("kit/error.html").render(context)
    resp = Response(html, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = content_security_policy(nonce)
    return resp


def unmatched_error_page(request, status, config, service=None):
    """The error page of a URL no route matched (asked for by a browser)."""
    ctx = PageContext(request, config, service)
    ctx.sign_in_from_cookie()
    return _safe_error(ctx, request, status)
