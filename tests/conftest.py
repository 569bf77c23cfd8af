"""Shared fixtures. eventlet is patched before anything imports socket/threading,
as `nameko run` does, so services run in-process exactly as in production."""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (must precede every other import)

import os  # noqa: E402
import warnings  # noqa: E402

import pytest  # noqa: E402

warnings.filterwarnings("ignore")

pytest_plugins = ["tests.support.fixtures"]
os.environ.setdefault("CRM_TEST_DB", "sqlite")
# trio (via selenium) registers a hypothesis plugin that cannot import under eventlet's
# green sockets; hypothesis itself needs no plugin here.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

# Kill and restart brokers, proxies and whole stacks, and measure recovery times: never
# next to other tests (`make test` runs the `serial` tests after the parallel pass).
SERIAL_DIRS = ("tests/reliability/",)


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.startswith(SERIAL_DIRS):
            item.add_marker(pytest.mark.serial)
