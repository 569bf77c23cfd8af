"""A system started the README way, for browser tests: `crm run` (what `make run` runs:
every service and gateway a separate process) and `crm demo` (what `make demo` runs),
with ports shifted by CRM_PORT_OFFSET=500 so a developer's own stack can keep running.
The databases are SQLite files under the test's tmp_path, the bus the test's vhost.
Fixed ports: a test using this is marked serial and runs alone.

    with crm_run(amqp_uri, tmp_path) as stack:
        stack.wait_ready(config, "sales")
        stack.demo(15)
        walk(browser, stack.urls["sales"], ...)
"""
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from services.common.auth import mint_token
from services.contract import HTTP_PORTS

ROOT = Path(__file__).resolve().parents[2]
OFFSET = 500
CRM = str(Path(sys.executable).parent / "crm")
# a JSON list behind each gateway that answers 200 only once its service answers RPC
READY_PATHS = {"customers": "/customers", "sales": "/leads", "service_desk": "/tickets",
               "marketing": "/campaigns"}


def until(fn, timeout, what, every=0.5):
    """fn() until it returns something true (connection errors count as not yet)."""
    deadline = time.time() + timeout
    while True:
        try:
            result = fn()
            if result:
                return result
        except requests.RequestException:
            pass
        if time.time() > deadline:
            raise AssertionError(f"{what} not ready in {timeout} s")
        time.sleep(every)


def gateway_urls(offset=OFFSET):
    return {svc: f"http://127.0.0.1:{port + offset}" for svc, port in HTTP_PORTS.items()}


class Stack:
    def __init__(self, env, urls, log_path):
        self.env, self.urls, self.log_path = env, urls, log_path

    def log(self, tail=3000):
        return self.log_path.read_text(errors="replace")[-tail:]

    def wait_ready(self, config, *services, timeout=180):
        """Each service's JSON list through its gateway answers a manager with 200."""
        boss = {"Authorization": f"Bearer {mint_token(config, 'm1', 'manager', 'management')}"}
        for svc in services:
            url = self.urls[svc] + READY_PATHS[svc]
            try:
                until(lambda url=url: requests.get(url, headers=boss, timeout=5).status_code
                      == 200, timeout, f"the {svc} service behind its gateway")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{self.log()}") from None

    def demo(self, count=15):
        """`crm demo --count COUNT` against this stack."""
        done = subprocess.run([CRM, "demo", "--count", str(count)], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout


@contextmanager
def crm_run(amqp_uri, tmp_path, offset=OFFSET):
    """`crm run` in its own process group; yields a Stack; Ctrl-C (SIGINT) after."""
    urls = gateway_urls(offset)
    for url in urls.values():
        try:
            requests.get(url, timeout=1)
            pytest.fail(f"{url} is busy (another stack with CRM_PORT_OFFSET={offset}?)")
        except requests.ConnectionError:
            pass
    env = dict(os.environ, AMQP_URI=amqp_uri, CRM_VAR_DIR=str(tmp_path / "var"),
               PYTHONUNBUFFERED="1", CRM_PORT_OFFSET=str(offset))
    for s in ("CUSTOMERS", "SALES", "SERVICE_DESK", "MARKETING", "REPORTING"):
        env[f"{s}_DATABASE_URL"] = f"sqlite:///{tmp_path}/{s.lower()}.db"
    log_path = tmp_path / "run.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen([CRM, "run"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield Stack(env, urls, log_path)
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
