"""The assignment rules page (managers) over HTTP on a real gateway, broker and services:
a save carries every criterion the RPC's rule has (a named rule's campaign_id and
customer_id were dropped, turning "campaign X → owner" into a catch-all default owner),
and the page loaded and saved unchanged gives back exactly the same rules."""
import uuid
from html.parser import HTMLParser

import pytest

from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.schemas import RuleSchema
from services.sales.service import SalesService
from tests.support.fixtures import actor
from tests.support.sales_web import Browserless

pytestmark = pytest.mark.integration

MANAGER = actor("m1", "manager", "management")


@pytest.fixture(scope="module")
def base(module_gateway):
    return module_gateway(SalesGateway, CustomersService, SalesService)


class _FormFields(HTMLParser):
    """What a browser would submit for the form ``form_id`` untouched: each input's value,
    each select's selected option (else its first)."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._select, self._first = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif not self.inside:
            return
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first = a["name"], None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value") or ""
            if "selected" in a:
                self.fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first or "")
            self._select = None


def _form_fields(html, form_id="rules-form"):
    parser = _FormFields(form_id)
    parser.feed(html)
    return parser.fields


def _posted(rules):
    """The rules as the page's form fields (one row each, one spare row left blank)."""
    data = {"rows": str(len(rules) + 1)}
    for i, rule in enumerate(rules):
        for key, value in rule.items():
            data[f"rules.{i}.{key}"] = ", ".join(value) if key == "team" else str(value)
    return data


def _without_token(fields):
    return {k: v for k, v in fields.items() if k != "csrf_token"}


def _stored(p):
    return [{k: v for k, v in r.items() if k not in ("position", "cursor")}
            for r in p.sales.get_assignment_rules()["rules"]]


def test_rules_page_keeps_every_criterion_and_round_trips(base, config, rpc):
    tag = uuid.uuid4().hex[:6]
    who = {k: f"rp-{k}-{tag}" for k in ("region", "industry", "source", "campaign",
                                         "customer", "name", "both", "rr1", "rr2")}
    campaign = f"cmp-{tag}"
    # what get_assignment_rules gives back (ids on the wire: digits as integers)
    rules = [
        {"kind": "region", "region": f"规则区{tag}", "owner_id": who["region"]},
        {"kind": "industry", "industry_code": "Q86", "owner_id": who["industry"]},
        {"kind": "named", "source": "trade_show", "owner_id": who["source"]},
        {"kind": "named", "campaign_id": campaign, "owner_id": who["campaign"]},
        {"kind": "named", "customer_id": 987654321, "owner_id": who["customer"]},
        {"kind": "named", "customer_name": f"规则公司{tag}", "owner_id": who["name"]},
        {"kind": "named", "source": "campaign", "campaign_id": 7, "owner_id": who["both"]},
        {"kind": "round_robin", "team": [who["rr1"], who["rr2"]]},
    ]
    # every field of the RPC's rule is exercised (a new criterion must be added here too)
    assert {k for r in rules for k in r} == set(RuleSchema().fields)
    boss = Browserless(base, config, "m1", "manager", "management")
    with rpc(MANAGER) as p:
        before = _stored(p)
        try:
            # 1. the page saves what was posted, every criterion included
            r = boss.post("/app/assignment-rules", _posted(rules),
                          token_from="/app/assignment-rules")
            assert r.status_code == 303, r.text[-2000:]
            assert _stored(p) == rules

            # 2. the page shows them all, and saving it untouched changes nothing
            page = boss.get("/app/assignment-rules").text
            fields = _form_fields(page)
            assert fields["rules.3.campaign_id"] == campaign
            assert fields["rules.4.customer_id"] == "987654321"
            assert fields["rules.6.campaign_id"] == "7"
            assert fields["rules.6.source"] == "campaign"
            assert fields["rules.7.team"] == f"{who['rr1']}, {who['rr2']}"
            r = boss.post("/app/assignment-rules", fields, csrf=False)
            assert r.status_code == 303, r.text[-2000:]
            assert _stored(p) == rules
            again = _form_fields(boss.get("/app/assignment-rules").text)
            assert _without_token(again) == _without_token(fields)

            # 3. the campaign rule catches its own campaign's leads only
            def assign(campaign_id):
                lead = p.sales.create_lead({"source": "campaign", "campaign_id": campaign_id,
                                            "customer_name": f"活动公司{uuid.uuid4().hex[:6]}",
                                            "contact_name": "王经理"})
                got = p.sales.assign_lead(lead["id"])
                return got["owner_id"], got["assignment_rule"]
            assert assign(campaign) == (who["campaign"], "named")
            assert assign(f"cmp-other-{tag}") == (who["rr1"], "round_robin")
            assert assign("7") == (who["both"], "named")
        finally:
            p.sales.set_assignment_rules(before)
