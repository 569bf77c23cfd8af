"""Parallel test runs without pytest-xdist (pytest plugin, loaded by
``tests.support.parallel``).

xdist cannot be used here: tests/conftest.py monkey-patches the process with
eventlet before anything else (services run in-process as ``nameko run`` runs them),
and execnet's worker then waits forever on green locks from its real I/O thread
("bringing up nodes..." never ends). So each worker is a plain pytest process that
collects the whole selection and runs only the modules it *claims*: a claim is a
file created with O_EXCL in ``$CRM_SHARD_DIR``, so every module runs exactly once,
in one worker, whole (module-scoped services start once), and a worker takes the
next unclaimed module as soon as it is free (longest first, see ``weight``).

Each worker is a separate process with its own session fixtures: its own RabbitMQ
vhost and bus users, its own SQLite folder or PostgreSQL databases (uuid-named), its
own VAR_DIR and tmp dirs, and ports drawn by ``fixtures.free_port``.
"""
import json
import os
import re
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("module_durations.json")
# seconds per test when a module has no recorded duration (first run of a new module)
PER_TEST = {"e2e": 60.0, "reliability": 30.0, "integration": 2.0, "security": 2.0,
            "deploy": 0.3, "unit": 0.05}
TIMES = {}  # module -> seconds spent in its tests (setup + call + teardown), this worker


def _module_key(item):
    return item.nodeid.split("::", 1)[0]


def weight(key, count, recorded):
    if key in recorded:
        return recorded[key]
    parts = key.split("/")
    return count * PER_TEST.get(parts[1] if len(parts) > 1 else "", 1.0)


def _claim(folder, key):
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    try:
        os.close(os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    folder = os.environ.get("CRM_SHARD_DIR")
    if not folder or session.config.option.collectonly:
        return None
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
    folder = Path(folder)
    modules = {}
    for item in session.items:
        modules.setdefault(_module_key(item), []).append(item)
    try:
        recorded = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    order = sorted(modules, key=lambda k: -weight(k, len(modules[k]), recorded))

    def claimed():
        for key in order:
            if _claim(folder, key):
                yield from modules[key]

    items = claimed()
    item = next(items, None)
    while item is not None:
        following = next(items, None)  # claimed before this item ends: teardown knows
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        item = following
    out = os.environ.get("CRM_SHARD_TIMES")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(TIMES, fh)
    return True


def pytest_runtest_logreport(report):
    key = report.nodeid.split("::", 1)[0]
    TIMES[key] = TIMES.get(key, 0.0) + report.duration
