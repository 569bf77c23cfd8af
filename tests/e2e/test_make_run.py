"""The README's promise: `crm run` (what `make run` runs) starts every service and
gateway as separate processes, each connected to RabbitMQ as its own bus user; with
the printed staff token, curl-style calls create, tag, list and update a customer;
:9401/metrics shows those calls; Ctrl-C stops everything."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from services.common.cli.demo import demo_customers

pytestmark = [pytest.mark.e2e, pytest.mark.serial]  # fixed ports 8301-8305, 9401: alone
ROOT = Path(__file__).resolve().parents[2]


def _wait_http(url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def _assert_own_bus_users(amqp_uri, out):
    """`crm run` made one bus user per service and gateway (services.common.bus_provision,
    prefixed ``<vhost>.`` on a test's vhost) and started each process as its own: every
    component has a connection on the stack's vhost under its user (no silent fallback
    to AMQP_URI's user)."""
    from services.common.bus_provision import default_prefix, parse_uri
    from services.common.cli.stack import components
    _, vhost = parse_uri(amqp_uri)
    ctl = shutil.which("rabbitmqctl")
    if vhost == "/" or not ctl:  # no vhost of our own (tests/support/infra.Vhost)
        return
    assert f"bus users ready on vhost {vhost!r}" in out, out
    prefix = default_prefix(amqp_uri)
    want = {prefix + name for name, _target, _env in components()}
    deadline = time.time() + 30
    while True:
        rows = subprocess.run([ctl, "-q", "list_connections", "user", "vhost"],
                              capture_output=True, text=True, timeout=30).stdout
        users = [r.split("\t")[0] for r in rows.splitlines()
                 if r.count("\t") == 1 and r.split("\t")[1] == vhost]
        if want <= set(users) or time.time() > deadline:
            break
        time.sleep(0.5)
    assert want <= set(users), (sorted(want - set(users)), users)
    # a process takes every connection from its one AMQP_URI, so a component seen under
    # its own user has no guest connection of its own; guest connections on this vhost
    # may still be the test process's (the session's fixtures share the vhost: fresh-
    # clone CI saw one), so they are not counted against the stack


def test_make_run_stack(amqp_uri, tmp_path):
    for port in (8301, 9401):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            pytest.fail(f"port {port} is busy (another stack with CRM_PORT_OFFSET=300?)")
        except requests.ConnectionError:
            pass
    # ports shifted by 300 so a developer's own `make run` can keep running
    env = dict(os.environ, AMQP_URI=amqp_uri, CRM_VAR_DIR=str(tmp_path / "var"),
               PYTHONUNBUFFERED="1", CRM_PORT_OFFSET="300")
    for s in ("CUSTOMERS", "SALES", "SERVICE_DESK", "MARKETING", "REPORTING"):
        env[f"{s}_DATABASE_URL"] = f"sqlite:///{tmp_path}/{s.lower()}.db"
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "crm"), "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert _wait_http("http://127.0.0.1:8301/health"), (tmp_path / "run.log").read_text()
        out = (tmp_path / "run.log").read_text()
        token = re.search(r"STAFF_TOKEN=(\S+)", out).group(1)
        assert "http://127.0.0.1:9401/metrics" in out
        if not (os.environ.get("JWT_KEY") or os.environ.get("JWT_KEYS")):
            # the public dev key of config.yml: one warning line, and the stack still runs
            assert out.count("WARNING: using the development signing key") == 1, out
        h = {"Authorization": f"Bearer {token}"}
        base = "http://127.0.0.1:8301"
        data = next(demo_customers(1, ["u1"], seed=int(time.time())))
        data.pop("owner_id")
        deadline = time.time() + 60
        while True:  # the gateway may be up before the customers service consumes RPC
            r = requests.post(f"{base}/customers", json=data, headers=h, timeout=10)
            if r.status_code != 503 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert requests.post(f"{base}/customers/{cid}/tags", json={"tags": ["e2e"]}, headers=h,
                             timeout=10).status_code == 200
        listed = requests.get(f"{base}/customers?tags_all=e2e", headers=h, timeout=10).json()
        assert [c["id"] for c in listed["items"]] == [cid]
        r = requests.patch(f"{base}/customers/{cid}", json={"needs": "e2e 更新"}, headers=h,
                           timeout=10)
        assert r.status_code == 200 and r.json()["needs"] == "e2e 更新" and r.json()["version"] == 3
        # nameko sends the RPC reply before dependencies' worker_result runs, so the last
        # call's counter may land a moment after its HTTP answer: scrape until it shows
        missing, deadline = None, time.time() + 10
        methods = ("create_customer", "add_tags", "list_customers", "update_customer")
        while missing != [] and time.time() < deadline:
            metrics = requests.get("http://127.0.0.1:9401/metrics", timeout=5).text
            missing = [m for m in methods
                       if not re.search(rf'crm_entrypoint_calls_total{{kind="rpc",method="{m}",'
                                        r'outcome="success",service="customers"} [1-9]', metrics)]
            time.sleep(0.2)
        assert missing == [], missing
        # the web workspaces: every gateway sends a browser to sign in; one sign-in (the
        # printed steps) covers them all; the switcher's links follow CRM_PORT_OFFSET
        assert "/login" in out and "crm token --user u1" in out
        html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        web = requests.Session()
        for port in range(8301, 8306):
            assert _wait_http(f"http://127.0.0.1:{port}/health"), port
            r = web.get(f"http://127.0.0.1:{port}/", headers=html, allow_redirects=False,
                        timeout=10)
            assert r.status_code in (302, 303), (port, r.status_code)
        login = web.get(f"{base}/login", headers=html, timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        r = web.post(f"{base}/login", data={"token": token, "csrf_token": csrf}, headers=html,
                     allow_redirects=False, timeout=10)
        assert r.status_code == 303 and "HttpOnly" in r.headers["Set-Cookie"]
        r = web.get(f"{base}/go/sales", headers=html, allow_redirects=False, timeout=10)
        assert r.headers["Location"] == "http://127.0.0.1:8302/"
        assert web.get("http://127.0.0.1:8305/docs", timeout=10).status_code == 200
        _assert_own_bus_users(amqp_uri, out)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            rc = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert rc in (0, -signal.SIGINT, 130), (tmp_path / "run.log").read_text()[-3000:]
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:8301/health", timeout=2)
