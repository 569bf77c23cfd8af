"""Calls between services: system calls carry the service's own verified identity,
silence is ServiceUnavailable."""
import json

import eventlet
import pytest

from services.common.actors import AUTH_KEY, CONTEXT_KEY
from services.common.auth import verify_token
from services.common.config import load_config
from services.common.errors import NotFound, ServiceUnavailable
from services.common.peers import _AsService, call_peer, get_or_none, peer_timeout


class _Ctx:
    call_id = "svc.method.1"
    context_data = {CONTEXT_KEY: '{"id": "u1"}', AUTH_KEY: "Bearer user-token",
                    "call_id_stack": ["a"]}


class _Peer:
    service_name = "customers"

    def __init__(self, answer=None, delay=0.0, error=None):
        self.answer, self.delay, self.error, self.calls = answer, delay, error, []

    def get_customer(self, customer_id, **kwargs):
        self.calls.append((customer_id, kwargs))
        eventlet.sleep(self.delay)
        if self.error:
            raise self.error
        return self.answer


def test_system_context_replaces_the_callers_identity_with_the_services_own():
    config = load_config()
    ctx = _AsService(_Ctx(), config, "service_desk")
    data = ctx.context_data
    assert data["call_id_stack"] == ["a"]
    scheme, token = data[AUTH_KEY].split(" ")
    assert scheme == "Bearer"
    who = verify_token(config, token)
    assert who["id"] is None and who["roles"] == ["system"] and who["service"] == "service_desk"
    assert json.loads(data[CONTEXT_KEY])["service"] == "service_desk"
    assert ctx.call_id == "svc.method.1"


def test_peer_timeout_leaves_room_for_the_callers_own_timeout():
    assert peer_timeout({"RPC_TIMEOUT": 10}) == 8.0
    assert peer_timeout({}) == 8.0


def test_call_peer_passes_arguments_and_returns_the_answer():
    peer = _Peer(answer={"id": 7})
    assert call_peer(peer, "get_customer", 7, config={}, fields="x") == {"id": 7}
    assert peer.calls == [(7, {"fields": "x"})]


def test_a_silent_peer_is_service_unavailable():
    peer = _Peer(answer={}, delay=0.5)
    with pytest.raises(ServiceUnavailable) as err:
        call_peer(peer, "get_customer", 7, config={"RPC_TIMEOUT": 0.1})
    assert "customers" in err.value.message


def test_get_or_none_maps_not_found_and_keeps_other_errors():
    assert get_or_none(_Peer(error=NotFound("no")), "get_customer", 7, config={}) is None
    with pytest.raises(ServiceUnavailable):
        get_or_none(_Peer(delay=0.5), "get_customer", 7, config={"RPC_TIMEOUT": 0.1})
