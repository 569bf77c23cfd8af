"""Shared fixtures. eventlet is patched before anything imports socket/threading,
as `nameko run` does, so services run in-process exactly as in production."""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (must precede every other import)

import os  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

pytest_plugins = ["tests.support.fixtures"]
os.environ.setdefault("CRM_TEST_DB", "sqlite")
# trio (via selenium) registers a hypothesis plugin that cannot import under eventlet's
# green sockets; hypothesis itself needs no plugin here.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")
