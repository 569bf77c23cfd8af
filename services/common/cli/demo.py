"""Realistic demo data (zh_CN), loaded through the public RPC."""
import random

from faker import Faker

from services.common.uscc import check_char, org_check_char

REGIONS = {"110000": "北京", "310000": "上海", "440100": "广州", "440300": "深圳",
           "330100": "杭州", "320100": "南京", "510100": "成都", "420100": "武汉"}
INDUSTRIES = ["C35", "C39", "I65", "I64", "F51", "G54", "C26", "M74", "E48", "L72"]
TAGS = ["高潜力客户", "投诉风险", "意向产品A", "意向产品B", "老客户", "展会获取", "重点跟进"]
TITLES = ["采购经理", "总经理", "技术总监", "财务经理", "行政主管"]
SCALES = ["micro", "small", "medium", "large"]
CHANNELS = ["trade_show", "website", "referral", "campaign", "phone"]


def org_code(rng):
    """A GB 11714 organisation code (8 digits + check character)."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    return body + org_check_char(body)


def make_uscc(rng, region_code):
    """An enterprise USCC (authority 9 工商, category 1 企业) registered in region_code."""
    body = "91" + region_code + org_code(rng)
    return body + check_char(body)


def demo_customers(count, owners, seed=2026):
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    seen = set()
    for _ in range(count):
        region_code = rng.choice(list(REGIONS))
        uscc = make_uscc(rng, region_code)
        if uscc in seen:
            continue
        seen.add(uscc)
        contacts = [{"name": fake.name(), "title": rng.choice(TITLES),
                     "mobile": fake.phone_number(), "email": fake.company_email(),
                     "birthday": fake.date_of_birth(minimum_age=25, maximum_age=60).isoformat(),
                     "preferred_channel": rng.choice(["phone", "email", "wechat"]),
                     "is_primary": True}]
        if rng.random() < 0.4:
            contacts.append({"name": fake.name(), "title": rng.choice(TITLES),
                             "mobile": fake.phone_number(), "is_primary": False})
        yield {
            "name": f"{REGIONS[region_code]}{fake.company()}",
            "uscc": uscc,
            "industry_code": rng.choice(INDUSTRIES),
            "region": REGIONS[region_code],
            "scale": rng.choice(SCALES),
            "annual_budget": f"{rng.randint(5, 2000)}.00",
            "needs": rng.choice(["设备升级改造", "降低采购成本", "数字化转型咨询", "售后维保服务",
                                 "新产线建设"]),
            "source_channel": rng.choice(CHANNELS),
            "type": rng.choice(["potential", "potential", "closed"]),
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
            "owner_id": rng.choice(owners),
            "influence": rng.randint(1, 5),
            "contacts": contacts,
        }
