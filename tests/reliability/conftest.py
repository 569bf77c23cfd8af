"""Chaos suite fixtures: a private vhost and a whole stack per scenario, and the
one-line figures each scenario reports (printed at the end, and to
var/chaos-figures.jsonl or $CRM_CHAOS_FIGURES)."""
import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.reliability.figures import FIGURES
from tests.reliability.pii import dump_stack_artifacts
from tests.reliability.stack import BROKER, Stack, Vhost
from tests.support.infra import broker_reachable, unavailable

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def chaos_dir():
    keep = os.environ.get("CRM_CHAOS_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return Path(keep)
    return Path(tempfile.mkdtemp(prefix="crm-chaos-"))


def new_stack(chaos_dir, tag, base=None, node=None, **kw):
    """A prepared Stack on a vhost of its own (nothing started yet)."""
    base = base or BROKER
    if not broker_reachable(f"{base}/"):
        unavailable("RabbitMQ", f"cannot connect to {base}")
    vhost = Vhost(tag.replace("_", "-"), node=node, base=base)
    uri = vhost.create()
    stack = Stack(chaos_dir / tag, uri, **kw)
    stack.vhost = vhost
    try:
        return stack.prepare()
    except BaseException:
        vhost.drop()
        raise


@pytest.fixture
def make_stack(chaos_dir, request):
    """make_stack(tag, **Stack kwargs) -> prepared Stack on its own vhost."""
    made = []

    def make(tag=None, base=None, node=None, **kw):
        tag = tag or request.node.name.split("[")[0].replace("test_", "")[:20]
        stack = new_stack(chaos_dir, tag, base=base, node=node, **kw)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        teardown_stack(stack)


@pytest.fixture(scope="class")
def shared_stack(chaos_dir):
    """One whole stack for the scenarios of a test class (each measures its own
    window of it, see ``figures.Window``); torn down after the class's last test."""
    stack = new_stack(chaos_dir, "shared")
    try:
        yield stack
    finally:
        teardown_stack(stack)


def teardown_stack(stack):
    """Dump metrics and dead letters (for the PII scan), stop, drop the vhost —
    once. Tests whose broker or proxy goes away call it before that happens."""
    if getattr(stack, "torn_down", False):
        return
    stack.torn_down = True
    dump_stack_artifacts(stack)
    stack.stop_all()
    stack.vhost.drop()


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("chaos figures")
    out = Path(os.environ.get("CRM_CHAOS_FIGURES", "var/chaos-figures.jsonl"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        for fig in FIGURES:
            terminalreporter.write_line(fig.line())
            fh.write(json.dumps(fig.as_dict()) + "\n")
