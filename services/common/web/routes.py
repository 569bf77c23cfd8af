"""What every gateway serves for browsers (mixed into GatewayBase):
``GET|POST /login``, ``POST /logout``,
``GET /docs`` (Swagger UI of the gateway's /openapi.json, offline) and
``GET /static/<file>`` (kit + service static files and the Swagger UI bundle,
versioned URLs cached for a year, ETag / 304 otherwise)."""
import mimetypes
import time

from werkzeug.wrappers import Response

from services.common.auth import verify_token
from services.common.errors import Unauthorized
from services.common.web import directory, session
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.common.web.templating import file_version, find_static

LOGIN_REASONS = ("signin", "expired", "invalid", "signed_out")
YEAR = 365 * 24 * 3600


def make_web_routes():
    """The WebRoutes mixin; built by services/common/gateway.py once ``route`` and
    ``JsonHttp`` exist there (so neither module imports the other at load time)."""
    from services.common.gateway import json_response, route

    class WebRoutes:
        """Sign-in, sign-out, API docs, static files and ``/`` for every gateway.
        ``web_home``: the workspace's start page (a page route of the gateway)."""

        web_home = "/app"

        @page("GET", "/login", auth=False)
        def login_page(self, request):
            ctx = page_context(request)
            reason = request.args.get("reason")
            return render("kit/login.html", form=Form(values={}),
                          reason=reason if reason in LOGIN_REASONS else None,
                          next=session.safe_next(request.args.get("next"), self.web_home),
                          users=directory.DEV_USERS, hint=directory.sign_in_hint,
                          page_title=ctx.t("login.title"))

        @page("POST", "/login", auth=False, max_body=64 * 1024)
        def login_submit(self, request):
            ctx = page_context(request)
            form = Form(request)
            token = "".join(str(form.value("token")).split())  # pasted with line breaks
            if token.lower().startswith("bearer"):
                token = token[6:]
            nxt = session.safe_next(form.value("next"), self.web_home)
            status = 422
            if not token:
                form.add_error("token", ctx.t("login.error.missing"))
            else:
                try:
                    actor = verify_token(self.container_config, token)
                except Unauthorized as exc:
                    key = "login.error.expired" if "expired" in str(exc) else "login.error.invalid"
                    form.add_error("token", ctx.t(key))
                    status = 401
                else:
                    resp = redirect(nxt, flash=ctx.t("login.welcome",
                                                     name=directory.display_name(actor)),
                                    kind="success")
                    resp = ctx.to_response(resp)
                    session.set_session_cookie(resp, request, token, _expiry(token))
                    resp.delete_cookie(session.LOGIN_COOKIE, path="/")
                    return resp
            form.values["token"] = ""  # never echo a token back
            return render("kit/login.html", status=status, form=form, reason=None, next=nxt,
                          users=directory.DEV_USERS, hint=directory.sign_in_hint,
                          page_title=ctx.t("login.title"))

        @page("POST", "/logout", auth=False, csrf=False)
        def logout(self, request):
            """A valid session needs its CSRF token to end; an expired or invalid one
            is simply dropped (nothing to protect, and the user is not stuck)."""
            ctx = page_context(request)
            if ctx.token and not ctx.csrf_valid():
                return ctx.error_page(403, title_key="error.csrf.title",
                                      message_key="error.csrf.message")
            resp = ctx.to_response(redirect("/login?reason=signed_out"))
            session.clear_session_cookie(resp, request)
            return resp

        @page("GET", "/app")
        def app_home(self, request):
            """The kit's start page (a workspace sets ``web_home`` to its own)."""
            ctx = page_context(request)
            return render("kit/home.html", page_title=ctx.t("home.title"))

        @page("GET", "/go/<service>", auth=False)
        def go_workspace(self, request, service):
            """The department switcher's links: to the workspace's configured URL;
            ``?to=/app/...`` to that page of it (a local /app path only, else 404),
            so any page links into another workspace without an absolute URL."""
            if service not in directory.WORKSPACES:
                return page_context(request).error_page(404)
            base = directory.workspace_url(self.container_config, service)
            if "to" not in request.args:
                return Response(status=303, headers={"Location": base})
            target = directory.app_path(request.args.get("to"))
            if target is None:
                return page_context(request).error_page(404)
            return Response(status=303, headers={"Location": base.rstrip("/") + target})

        def header_badges(self, actor):
            """Counts shown next to the user's name on every page of this gateway:
            ``[{"label", "count", "href"}]`` (+ optional ``tone``, ``title``, ``args``,
            ``id``). Override in a gateway; errors and slow answers show no badge."""
            return []

        @page("GET", "/docs", auth=False)
        def api_docs(self, request):
            ctx = page_context(request)
            return render("kit/docs.html", page_title=ctx.t("docs.title"), spec_url="/openapi.json")

        @route("GET", "/static/<path:filename>", auth=False, summary="Stylesheet, scripts, images")
        def static_file(self, request, filename):
            from services.common.web.pages import service_of
            path = find_static(filename, service_of(self))
            if path is None:
                return json_response(404, {"error": "NOT_FOUND", "message": "not found",
                                           "fields": {}})
            etag = file_version(str(path))
            versioned = request.args.get("v") == etag
            headers = {"ETag": f'"{etag}"',
                       "Cache-Control": f"public, max-age={YEAR}, immutable" if versioned
                       else "public, max-age=300, must-revalidate",
                       "X-Content-Type-Options": "nosniff"}
            if etag in {t.strip('" ') for t in request.headers.get("If-None-Match", "").split(",")}:
                return Response(status=304, headers=headers)
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype in ("application/javascript", "text/javascript"):
                ctype += "; charset=utf-8"
            return Response(path.read_bytes(), headers=headers, content_type=ctype)

        static_file.crm_route = None  # not part of the JSON API: kept out of /openapi.json

    return WebRoutes


def home_redirect(gateway_cls, request, config):
    """``GET /`` from a browser (no route: API clients keep the JSON 404): to the
    workspace's start page when signed in, else to the sign-in page."""
    token = session.session_token(request)
    home = getattr(gateway_cls, "web_home", "/app")
    try:
        if token and verify_token(config, token):
            return Response(status=303, headers={"Location": home})
    except Unauthorized:
        pass
    return Response(status=303, headers={"Location": "/login?next=" + home})


def _expiry(token):
    import jwt
    try:
        return float(jwt.decode(token, options={"verify_signature": False}).get("exp"))
    except (jwt.PyJWTError, TypeError, ValueError):
        return time.time() + 3600
