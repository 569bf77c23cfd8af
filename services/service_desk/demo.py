"""Service-desk demo data through the public RPC (for ``make demo``): a roster,
tickets of every kind and severity (some opened in the past so they breach),
responses, resolutions, surveys, care plans and a few FAQ entries."""
import datetime as dt
import random
from zoneinfo import ZoneInfo

SUBJECTS = {"inquiry": ["发票开具咨询", "设备操作方法", "维保范围咨询"],
            "complaint": ["交货延迟", "售后响应慢", "产品质量问题"],
            "suggestion": ["希望增加培训", "建议优化报价流程"]}
ROOT_CAUSES = ["product_defect", "service_attitude", "delivery", "billing", "usage_question"]
FAQS = [("如何申请退货?", "在收货后 7 天内联系客服, 提供订单号即可办理退货流程。", "售后"),
        ("发票多久可以开具?", "订单付款后 3 个工作日内开具增值税发票。", "财务"),
        ("设备保修期多长?", "整机保修一年, 核心部件保修三年。", "售后")]


def demo_desk(rpc, customer_ids, seed=2026, now=None):
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.timezone.utc)
    desk = rpc.service_desk
    made = {"tickets": 0, "surveys": 0, "care_plans": 0, "faqs": 0}
    for agent, name, cats in (("s1", "客服小王", ["售后"]), ("s2", "客服小李", ["财务"]),
                              ("s3", "客服小赵", [])):
        desk.set_agent(agent, {"name": name, "categories": cats})
    for i, customer_id in enumerate(customer_ids[:15]):
        kind = ("inquiry", "complaint", "suggestion")[i % 3]
        opened = now - dt.timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23))
        ticket = desk.open_ticket({
            "kind": kind, "severity": ("critical", "high", "medium", "low")[i % 4],
            "customer_id": customer_id, "complainant_name": "客户联系人",
            "channel": rng.choice(["phone", "email", "online", "visit"]),
            "subject": rng.choice(SUBJECTS[kind]), "description": "客户来电反映情况, 需跟进处理。",
            "category": rng.choice(["售后", "财务", None])}, at=opened.isoformat())
        made["tickets"] += 1
        if i % 5 == 4:
            continue  # left open: the SLA timer will flag it
        desk.respond(ticket["id"], "已收到, 正在处理", at=(opened + dt.timedelta(
            hours=rng.choice([0.5, 2, 10]))).isoformat())
        resolved = opened + dt.timedelta(hours=rng.choice([3, 20, 60, 130]))
        if resolved < now:
            desk.resolve_ticket(ticket["id"], "已协调处理完毕", rng.choice(ROOT_CAUSES),
                                at=resolved.isoformat())
            desk.submit_survey(ticket["id"], rng.choice([2, 4, 5, 5]), "感谢",
                               at=(resolved + dt.timedelta(hours=2)).isoformat())
            made["surveys"] += 1
    for customer_id in customer_ids[:5]:
        desk.create_care_plan(customer_id, "birthday", assignee_id=("s1", "s2")[
            customer_id % 2])
        made["care_plans"] += 1
    if customer_ids:
        # the reminder (three months before expiry) falls on today: a task on the care page
        from dateutil.relativedelta import relativedelta
        today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
        expiry = (today + relativedelta(months=3)).isoformat()
        desk.create_care_plan(customer_ids[0], "contract_expiry", expiry_date=expiry,
                              assignee_id="s1")
        made["care_plans"] += 1
    desk.generate_care_tasks()  # today's tasks now, not at the timer's next tick
    desk.record_improvement({"root_cause": "delivery", "department": "logistics",
                             "action": "与物流商约定备件 48 小时内送达，超时计入考核"})
    desk.record_improvement({"root_cause": "product_defect", "department": "product",
                             "action": "来料检验增加开机老化测试"})
    for question, answer, category in FAQS:
        faq = desk.create_faq({"question": question, "answer": answer, "category": category})
        desk.publish_faq(faq["id"])
        made["faqs"] += 1
    return made
