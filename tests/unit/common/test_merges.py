"""services.common.merges on a real (SQLite) marketing schema: rows of the merged
customer point at the kept one, a row whose kept twin exists in the same campaign is
left (or dropped where asked), ids in text columns are written as text, and a second
run changes nothing."""
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.common import merges
from services.marketing.models import AudienceMember, Base, Participant, SalesLead
from services.marketing.service import MERGE_TARGETS


def _db():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    s = Session(engine)
    for i, (campaign, customer) in enumerate([(1, 2), (1, 1), (2, 2), (2, 7)], start=1):
        s.add(Participant(id=i, campaign_id=campaign, customer_id=customer, kind="customer",
                          segment="normal"))
    for i, (campaign, customer) in enumerate([(1, 2), (1, 1), (3, 2)], start=1):
        s.add(AudienceMember(id=i, campaign_id=campaign, customer_id=customer))
    s.add_all([SalesLead(lead_id="L1", customer_id="2"), SalesLead(lead_id="L2",
                                                                   customer_id="22")])
    s.commit()
    return s


def _state(s):
    s.expire_all()
    return {"participants": sorted(s.execute(select(Participant.campaign_id,
                                                    Participant.customer_id)).all()),
            "audience": sorted(s.execute(select(AudienceMember.campaign_id,
                                                AudienceMember.customer_id)).all()),
            "leads": sorted(s.execute(select(SalesLead.lead_id, SalesLead.customer_id)).all())}


def _apply(s):
    merges.repoint(s, MERGE_TARGETS, keep_id=1, merge_id=2)
    merges.drop(s, AudienceMember, "customer_id", 2)
    s.commit()


def test_repoint_keeps_unique_twins_and_text_ids():
    s = _db()
    _apply(s)
    assert _state(s) == {
        "participants": [(1, 1), (1, 2), (2, 1), (2, 7)],  # campaign 1 held both: left
        "audience": [(1, 1), (3, 1)],  # campaign 1's duplicate row dropped
        "leads": [("L1", "1"), ("L2", "22")],  # text ids: "22" is not "2"
    }


def test_a_second_run_changes_nothing():
    s = _db()
    _apply(s)
    once = _state(s)
    _apply(s)
    assert _state(s) == once


def test_merged_ids_of_an_envelope():
    assert merges.merged_ids({"data": {"keep_id": "5", "merge_id": 9}}) == (5, 9)
