"""The kit's 503 "bus away" page on a real broker: the customers gateway runs, the
customers service does not. A signed-in browser gets the 503 page in its language
with no internals; an API client on the same gateway gets the declared JSON 503."""
import time
from html import unescape

import pytest
import requests

from services.common.auth import mint_token
from services.common.web import i18n
from services.customers.gateway import CustomersGateway
from tests.support.fixtures import free_port
from tests.support.web_session import WebSession

pytestmark = pytest.mark.integration
RPC_TIMEOUT = 1  # seconds: the gateway gives up on the absent service quickly
INTERNALS = ("Traceback", "nameko", "UnknownService", "RpcTimeout", 'File "')


@pytest.fixture(scope="module")
def base(module_services):
    """Only the gateway (with a short RPC timeout): no CustomersService container
    runs on this vhost."""
    port = free_port()
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                    RPC_TIMEOUT=RPC_TIMEOUT)
    return f"http://127.0.0.1:{port}"


def no_internals(text):
    for word in INTERNALS:
        assert word not in text, word


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("path", ["/app/customers", "/app/customers/1"])
def test_a_workspace_page_without_its_service_is_the_503_page(base, config, lang, path):
    s = WebSession(base, config, "u1")
    began = time.monotonic()
    r = s.get(path + ("?lang=en" if lang == "en" else ""))
    took = time.monotonic() - began
    assert r.status_code == 503, r.text[:500]
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-store"
    t = i18n.translator(lang, "customers")
    html = unescape(r.text)
    assert 'id="error-503"' in html
    assert f"<h1>{t('error.503.title')}</h1>" in html
    assert t("error.503.message") in html
    assert f'lang="{i18n.HTML_LANG[lang]}"' in html
    if lang == "zh_CN":
        assert "服务暂不可用" in html and "Service unavailable" not in html
    else:
        assert "Service unavailable" in html and "服务暂不可用" not in html
    assert "王芳" in html  # the kit's full page (header with the user), not the bare one
    no_internals(r.text)
    assert took < RPC_TIMEOUT + 4, took  # the RPC timeout, nothing waiting longer


def test_the_json_api_on_the_same_gateway_answers_the_declared_json_503(base, config):
    token = mint_token(config, "u1", "staff", "sales")
    r = requests.get(f"{base}/customers", timeout=30,
                     headers={"Authorization": f"Bearer {token}",
                              "Accept": "application/json"})
    assert r.status_code == 503, r.text[:500]
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body == {"error": "SERVICE_UNAVAILABLE",
                    "message": "service temporarily unavailable", "fields": {}}
    no_internals(r.text)
    # the body is the one /openapi.json declares for this route's 503
    spec = requests.get(f"{base}/openapi.json", timeout=30).json()
    declared = spec["paths"]["/customers"]["get"]["responses"]["503"]
    ref = declared["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["required"]) <= set(body) and set(body) <= set(schema["properties"])
