"""Workload generator: unique writes across departments through the public RPC.

Each green thread is one staff user with its own RPC connection; every write
carries unique data (USCC, names, mobiles), so a repeat can never be mistaken
for a fresh write. Outcomes (ok / error class / duration) are recorded so the
broker scenarios can check that every call either succeeded or failed clearly
within its timeout.
"""
import collections
import random
import time
import uuid

import eventlet

from services.common.cli.demo import make_uscc
from services.common.cli.rpc_client import cluster
from tests.reliability.pii import SEEDED_MOBILES

LINES = [{"product": "设备A", "quantity": "2", "unit_price": "1000.50"},
         {"product": "维保", "quantity": "1", "unit_price": "99.99"}]
MIX = (("customer", 15), ("lead", 25), ("opportunity", 20), ("order", 20), ("payment", 10),
       ("ticket", 10))


def staff(user, department="sales"):
    return {"id": user, "roles": ["staff"], "department": department}


class Workload:
    def __init__(self, config, tag, users=4, concurrency=4, rpc_timeout=10, seed=None):
        self.config = config
        self.tag = tag
        self.users = [f"{tag}-u{i}" for i in range(users)]
        self.concurrency = concurrency
        self.rpc_timeout = rpc_timeout
        self.rng = random.Random(seed if seed is not None else uuid.uuid4().int)
        self.mobiles = set()  # every mobile number seeded (PII scan)
        self.outcomes = collections.Counter()
        self.max_call = 0.0
        self.errors = []
        self._customers = collections.defaultdict(list)
        self._orders = collections.defaultdict(list)
        self._n = 0
        self._broken = False

    def mobile(self):
        m = f"1{self.rng.choice('3589')}{self.rng.randint(0, 999999999):09d}"
        self.mobiles.add(m)
        SEEDED_MOBILES.add(m)
        return m

    def customer_data(self):
        self._n += 1
        return {"name": f"混沌测试{self.tag}公司{self._n}{uuid.uuid4().hex[:6]}",
                "uscc": make_uscc(self.rng, "310000"), "industry_code": "C35",
                "region": "上海", "type": "potential", "tags": ["混沌"],
                "contacts": [{"name": "王芳", "title": "采购经理", "mobile": self.mobile(),
                              "email": f"c{uuid.uuid4().hex[:8]}@example.cn",
                              "is_primary": True}]}

    def _call(self, fn, *args):
        began = time.monotonic()
        try:
            result = fn(*args)
            self.outcomes["ok"] += 1
            return result
        except Exception as exc:  # noqa: BLE001 - classified, never swallowed silently
            name = type(exc).__name__
            if name == "RemoteError":
                name = getattr(exc, "exc_type", name)
            self.outcomes[name] += 1
            if not hasattr(exc, "exc_type"):  # not a declared remote error
                self._broken = True
            if len(self.errors) < 50:
                self.errors.append(f"{name}: {str(exc)[:120]}")
            return None
        finally:
            self.max_call = max(self.max_call, time.monotonic() - began)

    def _one(self, p, user, kind):
        customers = self._customers[user]
        if kind != "customer" and kind != "lead" and not customers:
            kind = "customer"
        if kind == "payment" and not self._orders[user]:
            kind = "order"
        if kind == "customer":
            c = self._call(p.customers.create_customer, self.customer_data())
            if c:
                customers.append(c["id"])
        elif kind == "lead":
            self._call(p.sales.create_lead, {
                "source": "website", "customer_name": f"线索{self.tag}{uuid.uuid4().hex[:8]}",
                "contact_name": "李经理", "contact_mobile": self.mobile(), "need": "新产线设备",
                "region": "上海", "industry_code": "C35"})
        elif kind == "opportunity":
            self._call(p.sales.create_opportunity, {
                "customer_id": self.rng.choice(customers), "amount": "100000.00",
                "expected_close_date": "2027-06-15", "background": "扩产", "needs": "产线"})
        elif kind == "order":
            o = self._call(p.sales.create_order, {"customer_id": self.rng.choice(customers),
                                                  "lines": LINES})
            if o:
                self._orders[user].append(o["id"])
        elif kind == "payment":
            self._call(p.sales.record_payment, self._orders[user].pop(), "100.00")
        elif kind == "ticket":
            self._call(p.service_desk.open_ticket, {
                "kind": "complaint", "severity": "medium",
                "customer_id": self.rng.choice(customers), "complainant_name": "王女士",
                "complainant_contact": self.mobile(), "channel": "phone",
                "subject": "设备故障", "description": "设备开机后报警。"})

    def _kinds(self, n):
        kinds, weights = zip(*MIX, strict=True)
        return self.rng.choices(kinds, weights, k=n)

    def run(self, writes, stop=None, pace=0.0):
        """Make ``writes`` writes (or until ``stop()`` is true) with ``concurrency``
        users at once. Returns the number of writes attempted."""
        per = [writes // self.concurrency + (1 if i < writes % self.concurrency else 0)
               for i in range(self.concurrency)]
        done = [0]

        def worker(i, count):
            user = self.users[i % len(self.users)]
            kinds = self._kinds(count)
            p = None
            ctx = None
            for kind in kinds:
                if stop and stop():
                    break
                if p is None:
                    try:
                        ctx = cluster(self.config, staff(user), timeout=self.rpc_timeout)
                        p = ctx.__enter__()
                    except Exception as exc:  # noqa: BLE001 - broker away: retry later
                        self.outcomes[f"connect:{type(exc).__name__}"] += 1
                        ctx = None
                        eventlet.sleep(0.5)
                        continue
                self._broken = False
                self._one(p, user, kind)
                done[0] += 1
                if self._broken:  # transport error: open a fresh connection
                    try:
                        ctx.__exit__(None, None, None)
                    except Exception:  # noqa: BLE001 - already broken
                        pass
                    p = ctx = None
                if pace:
                    eventlet.sleep(pace)
            if ctx is not None:
                try:
                    ctx.__exit__(None, None, None)
                except Exception:  # noqa: BLE001
                    pass

        pool = eventlet.GreenPool(self.concurrency)
        for i, count in enumerate(per):
            pool.spawn(worker, i, count)
        pool.waitall()
        return done[0]

    def spawn(self, writes, **kw):
        return eventlet.spawn(self.run, writes, **kw)
