"""Demo campaigns through marketing's public RPC (for ``make demo``).

``demo_campaigns(proxy, customer_ids)`` makes one campaign in every state —
draft, scheduled, running, completed, cancelled — the running and completed
ones with participants (customers and new contacts), check-ins, feedback,
outreach and leads handed to sales (``campaign_lead_generated``; sales turns
them into leads, and its demo converts some into opportunities and orders).
``proxy`` is a ClusterRpcProxy (system caller).
"""
import random

THEMES = [("智能制造新品发布会", "exhibition", "上海国际会展中心"),
          ("华东区客户答谢沙龙", "salon", "杭州西湖国宾馆"),
          ("数字化转型线上直播", "online", None),
          ("双十二设备采购促销", "promotion", None),
          ("南京行业技术研讨会", "offline", "南京国际博览中心")]
NAMES = ["赵敏", "钱伟", "孙丽", "李强", "周杰", "吴芳", "郑涛", "王磊"]
COMPANIES = ["苏州精工机械有限公司", "宁波海天电子有限公司", "无锡新材料科技有限公司",
             "合肥智造装备有限公司", "南通远洋物流有限公司"]
COMMENTS = ["内容很实用", "希望有更多案例", "现场组织很好", "产品演示不够详细", None]


def _plan(i, theme, fmt, location, owner, rng):
    day = 1 + i * 5
    return {"theme": theme, "goal": "获取有效线索并促成成交",
            "audience": {"tags_any": ["老客户", "高潜力客户"]},
            "starts_at": f"2026-12-{day:02d}T09:00:00+08:00",
            "ends_at": f"2026-12-{day:02d}T17:00:00+08:00", "location": location,
            "format": fmt, "owner_id": owner, "budget": f"{rng.randint(3, 10) * 10000}.00",
            "cost": f"{rng.randint(2, 8) * 10000}.00",
            "milestones": [{"title": "确定方案", "owner_id": owner, "due_date": "2026-11-20"},
                           {"title": "邀约客户", "owner_id": owner, "due_date": "2026-11-28"},
                           {"title": "活动复盘", "owner_id": owner, "due_date": "2026-12-31"}]}


def _execute(m, cid, customer_ids, rng, complete):
    pids = []
    for cust in customer_ids:
        pids.append(m.register_participant(cid, {"customer_id": cust})["id"])
    for k in range(3):
        mobile = f"13{rng.randint(5, 9)}{rng.randint(0, 99999999):08d}"
        pids.append(m.register_participant(cid, {"contact": {
            "name": rng.choice(NAMES), "company": COMPANIES[k % len(COMPANIES)],
            "mobile": mobile, "email": f"contact{rng.randint(100, 999)}@example.cn"},
            "need": "设备升级改造"})["id"])
    m.add_template(cid, {"channel": "sms", "offer": "满10万减5千",
                         "body": "$name 您好，感谢关注“$theme”，凭券码 $coupon_code 享 $offer。"})
    m.send_outreach(cid, "sms")
    for pid in pids:
        if rng.random() < 0.75:
            m.check_in(cid, pid)
            m.record_feedback(cid, pid, rng.randint(3, 5), rng.choice(COMMENTS))
    for pid in pids[: max(1, len(pids) // 2)]:
        m.generate_lead(cid, pid)
    if complete:
        m.complete_campaign(cid)
    return pids


def demo_campaigns(proxy, customer_ids, owners=("mk1", "mk2"), seed=2026):
    """One campaign per state; returns {state: campaign_id}."""
    rng = random.Random(seed)
    m = proxy.marketing
    out = {}
    states = ("draft", "scheduled", "running", "completed", "cancelled")
    for i, (state, (theme, fmt, location)) in enumerate(zip(states, THEMES, strict=True)):
        c = m.create_campaign(_plan(i, theme, fmt, location, owners[i % len(owners)], rng))
        cid = c["id"]
        out[state] = cid
        if state == "draft":
            continue
        m.schedule_campaign(cid)
        if state == "scheduled":
            continue
        if state == "cancelled":
            m.cancel_campaign(cid, "场地冲突，活动取消")
            continue
        m.launch_campaign(cid)
        m.complete_milestone(cid, c["milestones"][0]["id"])
        picks = rng.sample(list(customer_ids), min(3, len(customer_ids)))
        _execute(m, cid, picks, rng, complete=state == "completed")
    return out
