import datetime as dt

import pytest

from services.common.actors import Actor
from services.common.errors import Forbidden, NotFound, ValidationError


def test_staff_see_only_their_own():
    staff = Actor({"id": "u1", "roles": ["staff"]})
    assert staff.can_see("u1") and not staff.can_see("u2") and not staff.can_see(None)
    with pytest.raises(NotFound):
        staff.ensure_visible("u2", "customer")
    assert staff.owner_scope() == "u1"


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_see_all(role):
    m = Actor({"id": "m1", "roles": [role]})
    assert m.can_see("u2") and m.owner_scope() is None


def test_no_actor_is_a_trusted_system_call():
    system = Actor()
    assert system.is_system and system.is_manager and system.can_see("anyone")


def test_at_only_for_system_and_admin():
    at = "2020-05-01T08:00:00+08:00"
    assert Actor().resolve_at(at) == dt.datetime(2020, 5, 1, 0, 0, tzinfo=dt.timezone.utc)
    assert Actor({"id": "a", "roles": ["admin"]}).resolve_at(at).year == 2020
    with pytest.raises(Forbidden):
        Actor({"id": "m", "roles": ["manager"]}).resolve_at(at)
    with pytest.raises(ValidationError):
        Actor().resolve_at("yesterday")
    with pytest.raises(ValidationError):
        Actor().resolve_at("2020-05-01T08:00:00")
