"""A realistic sales pipeline, created through the public RPC (for ``make demo``).

    from services.sales.demo import demo_pipeline
    with cluster(cfg) as rpc:            # a trusted system proxy
        demo_pipeline(rpc, customer_ids, owners=["u1", "u2", "u3"])

Assignment rules, leads from every channel (some disqualified), opportunities
in every stage (won and lost too) with competitors, follow-ups (one overdue),
activities, orders with partial and full payments, a shipment, a change and a
cancellation. Historical dates use ``at`` (system caller).
"""
import datetime as dt
import random
from decimal import Decimal

NEEDS = ["设备升级改造", "降低采购成本", "数字化转型咨询", "售后维保服务", "新产线建设"]
COMPETITORS = [("华东精工", "本地服务快"), ("德系品牌", "品牌认可度高"), ("低价厂商", "价格低")]
PRODUCTS = [("数控机床", "268000.00"), ("工业机器人", "158000.00"), ("维保年包", "36000.00"),
            ("MES 软件授权", "88000.00")]


def demo_pipeline(rpc, customer_ids, owners, seed=2026, now=None):
    """Create the pipeline; returns counts by kind."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    sales = rpc.sales
    made = {"leads": 0, "opportunities": 0, "orders": 0, "payments": 0}

    def at(days):
        return (now - dt.timedelta(days=days)).isoformat()

    sales.set_assignment_rules([
        {"kind": "region", "region": "上海", "owner_id": owners[0]},
        {"kind": "industry", "industry_code": "I6", "owner_id": owners[-1]},
        {"kind": "round_robin", "team": list(owners)}])
    sources = ["trade_show", "website", "referral", "phone", "other"]
    for i in range(12):
        lead = sales.create_lead({
            "source": sources[i % len(sources)],
            "customer_name": f"演示潜在客户{i + 1:02d}有限公司",
            "contact_name": "联系人", "need": rng.choice(NEEDS),
            "region": rng.choice(["上海", "北京", "深圳", "成都"]),
            "industry_code": rng.choice(["C35", "I65", "F51"])}, at=at(60 - i))
        sales.assign_lead(lead["id"], at=at(59 - i))
        if i % 4 == 3:
            sales.disqualify_lead(lead["id"], "预算不足", at=at(50 - i))
        made["leads"] += 1

    plan = ["qualify", "propose", "negotiate", "won", "lost"] * 3
    for i, customer_id in enumerate(customer_ids[:len(plan)]):
        target, owner = plan[i], owners[i % len(owners)]
        start = 90 - i * 3
        comp = rng.choice(COMPETITORS)
        close = (now + dt.timedelta(days=rng.randint(10, 120))).date().isoformat()
        opp = sales.create_opportunity({
            "customer_id": customer_id, "owner_id": owner, "expected_close_date": close,
            "amount": f"{rng.randint(5, 200) * 10000}.00", "needs": rng.choice(NEEDS),
            "background": "年度采购计划", "competitors": [
                {"name": comp[0], "strengths": comp[1],
                 "price_position": rng.choice(["lower", "similar", "higher"])}]}, at=at(start))
        made["opportunities"] += 1
        path = {"qualify": [], "propose": ["propose"], "negotiate": ["propose", "negotiate"],
                "won": ["propose", "negotiate", "won"], "lost": ["propose", "lost"]}[target]
        for step, stage in enumerate(path, start=1):
            when = at(start - 7 * step)
            if stage == "won":
                sales.win_opportunity(opp["id"], at=when)
            elif stage == "lost":
                sales.lose_opportunity(opp["id"], "竞品价格更低", at=when)
            else:
                sales.move_stage(opp["id"], stage, at=when)
        sales.log_activity(opp["id"], rng.choice(["phone", "wechat", "visit"]), "沟通需求与报价",
                           at=at(start - 1))
        if target in ("qualify", "propose", "negotiate"):
            due = now + dt.timedelta(days=rng.randint(1, 14)) if i % 3 else \
                now - dt.timedelta(days=2)  # an overdue one
            sales.schedule_follow_up(opp["id"], due.isoformat(), "电话回访", at=at(5))
        if target == "won":
            product, price = rng.choice(PRODUCTS)
            order = sales.create_order({
                "customer_id": customer_id, "opportunity_id": opp["id"],
                "delivery_date": (now + dt.timedelta(days=30)).date().isoformat(),
                "lines": [{"product": product, "quantity": str(rng.randint(1, 3)),
                           "unit_price": price},
                          {"product": "安装调试", "quantity": "1", "unit_price": "5000.00"}]},
                at=at(start - 25))
            made["orders"] += 1
            half = (Decimal(order["amount"]) / 2).quantize(Decimal("0.01"))
            sales.record_payment(order["id"], str(half), at=at(start - 24))
            made["payments"] += 1
            if i % 2:
                sales.ship_order(order["id"], at(start - 20), at=at(start - 20))
                sales.record_payment(order["id"], sales.get_order(order["id"])["outstanding"],
                                     at=at(start - 19))
                made["payments"] += 1
            else:
                sales.change_order(order["id"], {"delivery_date": (
                    now + dt.timedelta(days=45)).date().isoformat()}, at=at(start - 22))
    # today's work for the workspace's My day: a fresh lead for the first owner (by the
    # region rule) and one waiting for a manager to assign it
    fresh = sales.create_lead({"source": "website", "customer_name": "演示新线索有限公司",
                               "contact_name": "新联系人", "contact_mobile": "13800138000",
                               "need": rng.choice(NEEDS), "region": "上海",
                               "industry_code": "C35"})
    sales.assign_lead(fresh["id"])
    sales.create_lead({"source": "trade_show", "customer_name": "演示待分配线索有限公司",
                       "contact_name": "展会联系人", "need": rng.choice(NEEDS),
                       "region": "杭州", "industry_code": "F51"})
    made["leads"] += 2
    if customer_ids:
        extra = sales.create_order({"customer_id": customer_ids[0], "owner_id": owners[0],
                                    "lines": [{"product": "备件", "quantity": "10",
                                               "unit_price": "120.00"}]}, at=at(10))
        sales.cancel_order(extra["id"], "客户重复下单", at=at(9))
        made["orders"] += 1
    return made
