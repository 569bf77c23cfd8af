"""Every RPC method of every service that takes anything but ids runs the
sensitive-data scanner on it (``load``, which scans first, or ``scan``).

Read from the source (AST): from each ``@rpc`` method, calls are followed
through the functions of the service's package; the method passes if it
reaches ``load``/``scan``. A method that does not may take only arguments that
cannot hold text a user typed (ids, limits, dates, periods, a link token) or
a search term ``q`` (read, never stored).
The behaviour itself is proved over the bus in
tests/integration/test_sensitive_everywhere.py.
"""
import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[3] / "services"
DEPARTMENTS = ["customers", "sales", "service_desk", "marketing", "reporting"]
NOT_TEXT = {"at", "limit", "page", "page_size", "period", "date", "token", "category",
            "department", "include_overdue",
            "q",  # a search term: read, never stored (customers' list skips it too)
            "ids"}  # names by ids (services/common/name_lookup.py): numbers, read only
SCANS = {"load", "scan", "page_args"}  # the kit's page_args runs load()


def _calls(node):
    for c in ast.walk(node):
        if isinstance(c, ast.Call):
            f = c.func
            if isinstance(f, ast.Name):
                yield f.id
            elif isinstance(f, ast.Attribute):
                yield f.attr


def _is_rpc(fn):
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
        if name in ("_rpc", "rpc", "declared_rpc"):
            return True
    return False


def _rpc_methods(department):
    files = sorted((SERVICES / department).glob("*.py"))
    trees = [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in files]
    index = {}
    for _, tree in trees:
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef):
                index.setdefault(n.name, []).append(n)
    for path, tree in trees:
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and _is_rpc(fn):
                yield path.name, fn, index


def _reaches_scan(fn, index):
    seen, todo = set(), [fn]
    while todo:
        for name in _calls(todo.pop()):
            if name in SCANS:
                return True
            if name not in seen and name in index:
                seen.add(name)
                todo.extend(index[name])
    return False


def _text_args(fn):
    args = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg != "self"]
    return [a for a in args if a not in NOT_TEXT and not a.endswith(("_id", "_ids"))]


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_every_rpc_taking_text_scans_it(department):
    methods = list(_rpc_methods(department))
    assert methods, f"no RPC methods found in services/{department}"
    unscanned = [(f, fn.name, _text_args(fn)) for f, fn, index in methods
                 if _text_args(fn) and not _reaches_scan(fn, index)]
    assert unscanned == []


def test_the_audit_sees_the_write_paths():
    names = {fn.name for d in DEPARTMENTS for _, fn, _ in _rpc_methods(d)}
    assert {"create_customer", "update_customer", "import_customers", "open_ticket",
            "respond", "create_lead", "log_activity", "register_participant",
            "record_feedback"} <= names
