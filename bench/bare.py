"""Bare nameko services for the ceilings C2 and C3: no DB, no kit (``BenchKitEcho``
aside: the same echo on the services' RPC entrypoint, a reported reference)."""
import time

from nameko.events import EventDispatcher, event_handler
from nameko.rpc import rpc

from services.common.service import ResilientRpc

_SINK = {"count": 0, "first": None, "last": None}


class BenchEcho:
    """C2: an echo @rpc."""

    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value


class BenchKitEcho:
    """C2 kit: the echo on the entrypoint every service uses (``ResilientRpc``: replies
    unconfirmed and transient, ``services.common.replies``). Reported next to C2 so a
    reader sees how much of R1/R2's ratio to the stock echo the reply path makes."""

    name = "bench_kit_echo"

    @ResilientRpc.decorator
    def echo(self, value):
        return value


class BenchSource:
    """C3: dispatches ``n`` events with nameko's EventDispatcher (confirms, persistent)."""

    name = "bench_source"
    dispatch = EventDispatcher()

    @rpc
    def fire(self, n, size=200):
        pad = "x" * size
        for i in range(n):
            self.dispatch("ping", {"i": i, "pad": pad})
        return n


class BenchSink:
    """C3: counts events with a plain nameko @event_handler."""

    name = "bench_sink"

    @event_handler("bench_source", "ping")
    def on_ping(self, payload):
        now = time.time()
        if _SINK["first"] is None:
            _SINK["first"] = now
        _SINK["last"] = now
        _SINK["count"] += 1

    @rpc
    def stats(self):
        return dict(_SINK)

    @rpc
    def reset(self):
        _SINK.update(count=0, first=None, last=None)
        return True
