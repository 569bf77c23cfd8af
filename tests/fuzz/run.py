"""Fuzz every gateway through its own OpenAPI document (``make fuzz``).

Starts the whole system the way ``make run`` does (``crm run``), on a private
vhost, SQLite files in a temporary folder and ports shifted by 600, with the
rate limit off; then runs schemathesis against the five gateways, once with a
staff token and once with a manager's, and stops the system. Fails if any
check fails (no 5xx, responses and content types as documented, unmatched
methods answered with 405). Not part of ``make test``: ~5 minutes.

    .venv/bin/python -m tests.fuzz.run [--max-examples 40]
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

from tests.support.infra import Vhost

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OFFSET = 600
GATEWAYS = {"customers": 8001, "sales": 8002, "service_desk": 8003, "marketing": 8004,
            "reporting": 8005}
# status_code_conformance is left out: a path that only another method's route matches
# (an id past BIGINT fails the int converter of the POST route but matches a GET route
# with a string part) is a 405 from routing, which no operation documents.
CHECKS = "not_a_server_error,content_type_conformance,response_schema_conformance," \
         "unsupported_method"


def _junit_counts(path):
    """(failed checks, tool errors) in a schemathesis JUnit report."""
    if not path.exists():
        return 1, 0  # schemathesis did not get as far as writing its report
    root = ElementTree.parse(path).getroot()
    cases = list(root.iter("testcase"))
    return (sum(1 for c in cases if c.find("failure") is not None),
            sum(1 for c in cases if c.find("error") is not None))


def _up(url):
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    ap.add_argument("--max-examples", type=int, default=40)
    args = ap.parse_args(argv)
    vhost, work = Vhost(), Path(tempfile.mkdtemp(prefix="crm-fuzz-"))
    env = dict(os.environ, AMQP_URI=vhost.create(), CRM_VAR_DIR=str(work / "var"),
               CRM_PORT_OFFSET=str(OFFSET), RATE_LIMIT_PER_MINUTE="0", PYTHONUNBUFFERED="1")
    for s in GATEWAYS:
        env[f"{s.upper()}_DATABASE_URL"] = f"sqlite:///{work}/{s}.db"
    log = (work / "run.log").open("w+")
    stack = subprocess.Popen([str(BIN / "crm"), "run"], cwd=ROOT, env=env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    failed, tool_errors = [], []
    try:
        deadline = time.time() + 120
        while not all(_up(f"http://127.0.0.1:{p + OFFSET}/health") for p in GATEWAYS.values()):
            if time.time() > deadline or stack.poll() is not None:
                sys.exit(f"the system did not start; see {work / 'run.log'}")
            time.sleep(1)
        out = (work / "run.log").read_text()
        tokens = {r: re.search(rf"{r.upper()}_TOKEN=(\S+)", out).group(1)
                  for r in ("staff", "manager")}
        for role, token in tokens.items():
            for name, port in GATEWAYS.items():
                print(f"== {name} gateway as {role}", flush=True)
                st = [str(BIN / "schemathesis"), "run",
                      f"http://127.0.0.1:{port + OFFSET}/openapi.json",
                      "-H", f"Authorization: Bearer {token}", "--checks", CHECKS,
                      "--max-examples", str(args.max_examples), "--workers", "2",
                      "--suppress-health-check", "all", "--no-color"]
                report = work / f"{name}-{role}.xml"
                subprocess.run(st + ["--report", "junit", "--report-junit-path", str(report)],
                               cwd=work)
                bad, errors = _junit_counts(report)
                if errors:  # schemathesis or hypothesis failing inside themselves
                    tool_errors.append(f"{name} as {role}: {errors}")
                if bad:
                    failed.append(f"{name} as {role}: {bad}")
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        try:
            stack.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
        vhost.drop()
    if tool_errors:  # e.g. Python 3.11's "AST constructor recursion depth mismatch"
        print("operations the tools could not test (not counted): " + "; ".join(tool_errors))
    print("failed checks: " + "; ".join(failed) if failed else "every gateway passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
