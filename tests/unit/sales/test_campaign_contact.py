"""A campaign lead gets its contact from marketing (system RPC), never from the event:
clear for the assigned owner, masked for others, absent from every event."""
import datetime as dt
import json
import uuid
from unittest import mock

from services.common.errors import ServiceUnavailable
from services.common.uow import make_envelope
from tests.unit.sales.test_service import MANAGER, outbox


def test_contact_fetched_stored_and_masked(svc, database):
    owner = f"cc-{uuid.uuid4().hex[:6]}"
    svc(MANAGER).set_assignment_rules([{"kind": "named", "owner_id": owner}])
    pid = uuid.uuid4().hex
    env = make_envelope("marketing", "campaign_lead_generated", {
        "campaign_id": 41, "participant_id": pid, "company_name": "杭州某电子有限公司",
        "contact_name": "赵敏", "region": "杭州"}, None, dt.datetime.now(dt.UTC))
    svc().on_campaign_lead_generated(env)
    lead = next(x for x in svc(MANAGER).list_leads({"campaign_id": 41})["items"]
                if x["participant_id"] == pid)
    assert lead["contact_mobile"] == "137****5678"       # the manager is not the owner
    assert lead["contact_email"] != "zhao@example.cn"
    mine = svc({"id": owner, "roles": ["staff"], "department": "sales"}).get_lead(lead["id"])
    assert (mine["contact_name"], mine["contact_mobile"], mine["contact_email"]) == (
        "赵敏", "13712345678", "zhao@example.cn")
    events = [e for t in ("lead_created", "lead_assigned") for e in outbox(database, t)
              if e["data"]["lead_id"] == lead["id"]]
    assert len(events) == 2
    assert "13712345678" not in json.dumps(events) and "zhao@" not in json.dumps(events)


def test_silent_marketing_makes_the_lead_then_the_timer_fills_the_contact(svc):
    owner = f"cf-{uuid.uuid4().hex[:6]}"
    svc(MANAGER).set_assignment_rules([{"kind": "named", "owner_id": owner}])
    silent = mock.Mock()
    silent.get_participant.side_effect = ServiceUnavailable("marketing did not answer")
    pid = uuid.uuid4().hex
    env = make_envelope("marketing", "campaign_lead_generated", {
        "campaign_id": 42, "participant_id": pid, "company_name": "某公司"}, None,
        dt.datetime.now(dt.UTC))
    svc(marketing=silent).on_campaign_lead_generated(env)
    me = svc({"id": owner, "roles": ["staff"], "department": "sales"})
    (lead,) = [x for x in me.list_leads({"campaign_id": 42})["items"]
               if x["participant_id"] == pid]
    assert lead["contact_mobile"] is None
    svc(marketing=silent).refill_campaign_contacts()   # still silent: nothing changes
    assert me.get_lead(lead["id"])["contact_mobile"] is None
    svc().refill_campaign_contacts()
    assert me.get_lead(lead["id"])["contact_mobile"] == "13712345678"
