"""HTTP gateway helpers: auth, error mapping, JSON, limits, metrics, health.

A department gateway is a nameko service whose methods are decorated with
``route``; each method calls RPC and returns plain data. ``route`` verifies
the JWT, puts it and its actor into the worker context (so the token travels
with every RPC and each service verifies it again), maps declared errors to
4xx JSON and anything else to a 500 without internals, answers 503 when the bus
does not, and records HTTP metrics.
"""
import functools
import json
import logging
import re
import socket
import time

import eventlet
from kombu import Connection
from nameko.dependency_providers import Config
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from nameko.rpc import RpcProxy
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

import services.common.amqp_settle  # noqa: F401 - nameko settles survive a reset socket
from services.common import metrics, wire
from services.common.actors import CurrentActor
from services.common.auth import bearer, verify_token
from services.common.errors import CrmError, PayloadTooLarge, ServiceUnavailable, ValidationError

log = logging.getLogger(__name__)
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_RATE_LIMIT = 600  # requests per user per minute per gateway process; 0 = off
_rate_windows = {}  # (gateway, user) -> [minute window start, count]


def rate_limit_retry_after(gateway, user, limit, now=None):
    """Fixed one-minute window per user: None if allowed, else seconds to wait."""
    if not limit or user is None:
        return None
    now = time.time() if now is None else now
    window = _rate_windows.get((gateway, user))
    if window is None or now - window[0] >= 60:
        _rate_windows[(gateway, user)] = [now, 1]
        return None
    if window[1] >= limit:
        return max(1, int(window[0] + 60 - now + 0.999))
    window[1] += 1
    return None
_UNAVAILABLE = (RpcTimeout, UnknownService, eventlet.Timeout, socket.error, OSError,
                ConnectionError)


def json_response(status, payload, headers=None):
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return Response(body, status=status, mimetype="application/json", headers=headers)


def error_response(exc):
    return json_response(exc.http_status, exc.to_dict())


def json_body(request, required=True):
    raw = request.get_data(cache=True, as_text=True)
    if not raw.strip():
        if required:
            raise ValidationError("Request body must be a JSON object",
                                  {"_body": ["missing JSON body"]})
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValidationError("Request body is not valid JSON",
                              {"_body": ["invalid JSON"]}) from None
    if not isinstance(data, dict):
        raise ValidationError("Request body must be a JSON object", {"_body": ["not an object"]})
    bad = wire.problems(data)
    if bad:
        raise ValidationError("Invalid input", bad)
    return data


def query_int(request, name, default):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError("Invalid query parameter", {name: ["must be an integer"]}) from None
    if not wire.INT64_MIN <= value <= wire.INT64_MAX:
        raise ValidationError("Invalid query parameter", {name: [wire.OUT_OF_RANGE]})
    return value


_ROUTING_ERRORS = {404: ("NOT_FOUND", "not found"),
                   405: ("METHOD_NOT_ALLOWED", "method not allowed on this route")}


def routing_error_response(exc, request=None, server=None):
    """werkzeug's routing errors (an HTML page by default) as the JSON error body
    every route answers with; a redirect (a missing trailing slash) stays as it is.
    A browser (Accept prefers text/html) gets the kit's error page instead, and
    ``GET /`` sends it to the workspace (services/common/web/)."""
    if exc.code is None or exc.code < 400:
        return exc
    if request is not None and server is not None and exc.code in (404, 405):
        from services.common.web.pages import wants_html
        if wants_html(request):
            from services.common.web.pages import service_of, unmatched_error_page
            from services.common.web.routes import home_redirect
            cls, config = server.container.service_cls, server.container.config
            if request.path == "/" and request.method in ("GET", "HEAD"):
                return home_redirect(cls, request, config)
            return unmatched_error_page(request, exc.code, config, service_of(cls))
    code, message = _ROUTING_ERRORS.get(exc.code, ("HTTP_ERROR", exc.name))
    allowed = getattr(exc, "valid_methods", None)
    return json_response(exc.code, {"error": code, "message": message, "fields": {}},
                         headers={"Allow": ", ".join(allowed)} if allowed else None)


class _JsonWsgiApp(WsgiApp):
    """nameko's WSGI app, with JSON bodies for unmatched URLs and methods."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)  # as nameko's: body read by the route
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            if any(isinstance(v, int) and v > wire.INT64_MAX for v in values.values()):
                # No BIGINT id is that long. Checked here, after the match, rather than
                # by the converter's ``max``: werkzeug checks the method before the
                # converter, so GET /x/<too long> would be a 405 whenever the PATCH
                # rule of the same path happens to be tried first.
                raise WerkzeugNotFound()
            request.path_values = values
            rv = provider.handle_request(request)
        except HTTPException as exc:
            rv = routing_error_response(exc, request, self.server)
        return rv(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return _JsonWsgiApp(self)

    def make_url_map(self):
        url_map = Map()
        # nameko keeps its providers in a set: add the rules in a stable order
        for provider in sorted(self._providers, key=lambda p: (p.url, p.method)):
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map


class JsonHttp(HttpRequestHandler):
    """nameko's ``@http`` served by ``JsonWebServer`` (one per gateway process)."""

    server = JsonWebServer()


def route(method, url, *, auth=True, summary="", body=None, response=None, query=None,
          status=200, max_body=DEFAULT_MAX_BODY, tags=None, media="application/json",
          page=False):
    """Decorate a gateway method as an HTTP endpoint (see module docstring).
    ``media``: what a success answers with (documented); ``page=True``: an HTML page
    that reads the token itself and answers errors as HTML too."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, request, **kwargs):
            began = time.perf_counter()
            try:
                size = request.content_length or 0
                if size > max_body:
                    raise PayloadTooLarge(f"request body exceeds {max_body} bytes")
                if auth:
                    token = bearer(request)
                    actor = verify_token(self.container_config, token)
                    self.actor.set(actor, token=token)  # the JWT itself goes on every hop
                    limit = int(self.container_config.get("RATE_LIMIT_PER_MINUTE",
                                                          DEFAULT_RATE_LIMIT) or 0)
                    wait = rate_limit_retry_after(self.name, actor["id"], limit)
                    if wait is not None:
                        return json_response(429, {"error": "RATE_LIMITED", "fields": {},
                                                   "message": "too many requests"},
                                             headers={"Retry-After": str(wait)})
                result = fn(self, request, **kwargs)
                resp = result if isinstance(result, Response) else json_response(status, result)
            except CrmError as exc:
                resp = error_response(exc)
            except RemoteError as exc:
                log.error("undeclared remote error on %s %s: %s", method, url, exc.exc_type)
                resp = json_response(500, {"error": "INTERNAL", "message": "internal error",
                                           "fields": {}})
            except _UNAVAILABLE as exc:
                log.warning("service unavailable on %s %s: %r", method, url, exc)
                resp = error_response(ServiceUnavailable("service temporarily unavailable"))
            except Exception:
                log.exception("unhandled error on %s %s", method, url)
                resp = json_response(500, {"error": "INTERNAL", "message": "internal error",
                                           "fields": {}})
            metrics.HTTP_REQUESTS.labels(self.name, url, method, str(resp.status_code)).inc()
            metrics.HTTP_LATENCY.labels(self.name, url, method).observe(time.perf_counter() - began)
            return resp

        wrapper.crm_route = {"method": method, "url": url, "auth": auth, "summary": summary,
                             "body": body, "response": response, "query": query or {},
                             "status": status, "tags": tags, "doc": fn.__doc__,
                             "media": "text/html" if page else media, "page": page}
        return JsonHttp.decorator(method, url)(wrapper)

    return decorator


from services.common.web.routes import make_web_routes  # noqa: E402 - after route, JsonHttp

WebRoutes = make_web_routes()


class GatewayBase(WebRoutes):
    """Mixin for department gateways: actor, metrics, health, metrics, rpc calls;
    /login, /logout, /docs, /static for browsers (services/common/web/routes.py)."""

    name = "gateway"
    actor = CurrentActor()
    http_metrics = metrics.Metrics(serve_http=False)
    _config_provider = Config()

    @property
    def container_config(self):
        return self._config_provider

    def call(self, proxy, method, *args, **kwargs):
        """Call RPC with the configured timeout; a silent bus becomes a 503."""
        timeout = float(self._config_provider.get("RPC_TIMEOUT", 10))
        with eventlet.Timeout(timeout):
            return getattr(proxy, method)(*args, **kwargs)

    @route("GET", "/health", auth=False, summary="Liveness and broker readiness")
    def health(self, request):
        uri = self._config_provider["AMQP_URI"]
        try:
            with eventlet.Timeout(3), Connection(uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
        except BaseException:  # noqa: BLE001 - eventlet.Timeout is a BaseException
            return json_response(503, {"status": "unavailable", "service": self.name,
                                       "broker": "down"})
        return {"status": "ok", "service": self.name, "broker": "up"}

    @route("GET", "/metrics", auth=False, summary="Prometheus metrics")
    def metrics_endpoint(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST.split(";")[0])


def rpc(service):
    return RpcProxy(service)


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(url):
    return _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", url)


def path_params(url):
    return [(m.group(2), "integer" if m.group(1) == "int" else "string")
            for m in _PATH_PARAM.finditer(url)]
