"""Applying sales events to marketing's own view: any arrival order, same numbers."""
import datetime as dt
import itertools
import random
from decimal import Decimal

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from services.common.uow import make_envelope
from services.marketing import commands, domain
from services.marketing import repository as repo
from services.marketing.models import Base, Campaign

T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


class _Uow:
    def __init__(self, session):
        self.session = session


def _events(cid):
    def ev(kind, minutes, **data):
        return make_envelope("sales", kind, data, "s1", T0 + dt.timedelta(minutes=minutes))
    return [
        ev("lead_created", 1, lead_id=11, owner_id="s1", source="campaign", campaign_id=cid,
           participant_id=5),
        ev("lead_converted", 2, lead_id=11, owner_id="s1", opportunity_id=21, customer_id=31),
        ev("opportunity_created", 3, opportunity_id=21, customer_id=31, owner_id="s1",
           lead_id=11, amount="90000.00"),
        ev("opportunity_won", 4, opportunity_id=21, customer_id=31, owner_id="s1", lead_id=11,
           campaign_id=cid, amount="90000.00"),
        ev("order_placed", 5, order_id=41, customer_id=31, owner_id="s1", amount="90000.00",
           opportunity_id=21, campaign_id=cid),
        ev("order_changed", 6, order_id=41, customer_id=31, owner_id="s1", amount="85000.00",
           previous_amount="90000.00"),
        ev("order_placed", 7, order_id=42, customer_id=31, owner_id="s1", amount="15000.00"),
        ev("order_placed", 8, order_id=43, customer_id=31, owner_id="s1", amount="5000.00"),
        ev("order_cancelled", 9, order_id=43, customer_id=31, owner_id="s1", reason="x"),
        ev("lead_created", 10, lead_id=12, owner_id="s2", source="campaign", campaign_id=cid,
           participant_id=6),
        # unrelated to the campaign
        ev("order_placed", 11, order_id=44, customer_id=99, owner_id="s3", amount="1.00"),
    ]


def _evaluate(events):
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine)()
    campaign = Campaign(theme="t", format="online", owner_id="m1", state="running",
                        cost=Decimal("20000.00"), starts_at=T0, ends_at=T0 + dt.timedelta(days=1),
                        audience_filter={})
    session.add(campaign)
    session.flush()
    for env in events(campaign.id):
        commands.apply_sales_event(_Uow(session), env)
    parts, leads, opps, orders = repo.evaluation_inputs(session, campaign)
    return domain.evaluation({"id": campaign.id, "state": "running", "cost": campaign.cost},
                             parts, leads, opps, orders, since=repo.since_for(campaign))


def test_in_order():
    ev = _evaluate(_events)
    assert ev["leads_in_sales"] == 2
    assert ev["leads_converted"] == 1
    assert ev["opportunities"] == 1 and ev["opportunities_won"] == 1
    assert ev["won_amount"] == "100000.00"  # 85000 (changed) + 15000; 43 cancelled; 44 unrelated
    assert ev["roi"] == 4.0


def test_any_order_gives_the_same_numbers():
    expected = _evaluate(_events)
    rng = random.Random(7)
    for _ in range(25):
        def shuffled(cid):
            evs = _events(cid)
            rng.shuffle(evs)
            return evs
        assert _evaluate(shuffled) == expected


def test_reversed_order():
    assert _evaluate(lambda cid: list(reversed(_events(cid)))) == _evaluate(_events)


def test_pairwise_swaps():
    expected = _evaluate(_events)
    n = len(_events(1))
    for i, j in itertools.combinations(range(n), 2):
        def swapped(cid, i=i, j=j):
            evs = _events(cid)
            evs[i], evs[j] = evs[j], evs[i]
            return evs
        assert _evaluate(swapped) == expected
