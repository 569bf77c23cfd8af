"""Customer search, filters and keyset paging on a real database (SQLite, or PostgreSQL
with CRM_TEST_DB=postgres), written through the service's own create path.

The expected rows come from ``reference`` below: the matching rules of the contract
(docs/KIT.md, services/customers/search.py's docstring) written again as a brute-force
filter over the test's own input data — never from the search index under test."""
import datetime as dt
import os
import re
import tempfile
import unicodedata
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common import paging
from services.common.actors import Actor
from services.common.errors import ValidationError
from services.common.migrate import upgrade
from services.common.schemas import load
from services.common.uow import Database
from services.customers import commands, listing
from services.customers.models import Base
from services.customers.schemas import CustomerInSchema, ListFiltersSchema
from tests.support import data

pytestmark = pytest.mark.integration
STAFF = Actor({"id": "srch-u1", "roles": ["staff"], "department": "sales"})
MANAGER = Actor({"id": "srch-m1", "roles": ["manager"], "department": "management"})
WHEN = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


# --- the contract, written again (independent of services.customers.search) -------------
def _n(text):
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"\s+", " ", text)
    return "".join(ch for ch in text if ord(ch) >= 32 and ord(ch) != 127).strip()


def matches(c, q):
    t = _n(q)
    if not t:
        return True
    fields = [_n(c["name"]), _n(c.get("needs")), *(_n(k["name"]) for k in c["contacts"]),
              *(_n(g) for g in c["tags"])]
    fields = [f for f in fields if f]
    up = t.upper().replace(" ", "")
    uscc18 = re.fullmatch(r"[0-9A-Z]{18}", up)  # a whole USCC is matched as a USCC only
    if len(t) >= 2 and not uscc18 and any(t in f for f in fields):
        return True
    if len(t) == 1 and any(f.startswith(t) for f in fields):
        return True
    if re.fullmatch(r"[0-9A-Z]{4,18}", up) and c["uscc"].startswith(up):
        return True
    digits = t.replace(" ", "").replace("-", "")
    mobiles = [k.get("mobile") or "" for k in c["contacts"]]
    if re.fullmatch(r"[0-9]{11}", digits) and digits in mobiles:
        return True
    return bool(re.fullmatch(r"[0-9]{4}", digits)) and any(m.endswith(digits) for m in mobiles)


def passes(c, f):
    if f.get("type") and c["type"] != f["type"]:
        return False
    if f.get("tags_all") and not set(f["tags_all"]) <= set(c["tags"]):
        return False
    return not (f.get("tags_any") and not set(f["tags_any"]) & set(c["tags"]))


def reference(customers, f):
    """Ids in the contract's order: exact USCC, names starting with the text (exact
    first, then by name), then the rest by id; without q by ``sort`` (id)."""
    rows = [c for c in customers if passes(c, f) and matches(c, f.get("q", ""))]
    t = _n(f.get("q", ""))
    if not t:
        return [c["id"] for c in sorted(rows, key=lambda c: c["id"])]
    exact = [c for c in rows if c["uscc"] == t.upper().replace(" ", "")]
    prefix = sorted((c for c in rows if c not in exact and _n(c["name"]).startswith(t)),
                    key=lambda c: (_n(c["name"]).encode("utf-8"), c["id"]))
    rest = sorted((c for c in rows if c not in exact and c not in prefix),
                  key=lambda c: c["id"])
    return [c["id"] for c in exact + prefix + rest]


# --- an own database, written through the create path -----------------------------------
@pytest.fixture(scope="module")
def db():
    url, pg = _own_database()
    upgrade("customers", url)
    d = Database(Base)
    d.container = SimpleNamespace(service_name="customers", config={
        "DB_URIS": {"customers": url}, "AMQP_URI": "memory://"})
    d.setup()
    yield d
    d.engine.dispose()
    if pg:
        pg.drop()


def _own_database():
    if os.environ.get("CRM_TEST_DB") == "postgres":
        from tests.support.infra import PgDatabases
        pg = PgDatabases(["customers"])
        return pg.create()["customers"], pg
    folder = tempfile.mkdtemp(prefix="crm-search-")
    return f"sqlite:///{folder}/customers.db", None


def clear(db):
    paging._SPANS.clear()  # ids restart: forget the remembered id span
    with db.unit_of_work() as uow:  # every table of the schema (audit log included)
        for table in reversed(Base.metadata.sorted_tables):
            uow.connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
        uow.commit()


def create(db, rows, actor=STAFF):
    """Create customers through commands.prepare_create/write_created → their dicts
    (with ids) as the reference sees them."""
    plans = [commands.prepare_create(actor, load(CustomerInSchema(), dict(r)), WHEN)
             for r in rows]
    with db.unit_of_work() as uow:
        commands.write_created(uow, actor, plans, WHEN)
        uow.commit()
    out = []
    for r, p in zip(rows, plans, strict=True):
        out.append(dict(r, id=p["record"]["id"], uscc=p["record"]["uscc"],
                        tags=list(p["tags"])))
    return out


def ids(db, filters, page_size=20, cursor=None, page=1, actor=MANAGER):
    f = load(ListFiltersSchema(), dict(filters), scan_skip=("q", "uscc"))
    with db.read_unit_of_work() as ro:
        return listing.list_ids(ro.connection, f, actor.owner_scope(), page, page_size,
                                cursor)


def all_pages(db, filters, page_size=3):
    seen, cursor = [], None
    for _ in range(1000):
        got, cursor, total, estimate = ids(db, filters, page_size, cursor)
        seen += got
        if cursor is None:
            return seen, total, estimate
    raise AssertionError("paging did not end")


def row(name, tags=(), needs=None, contacts=None, **over):
    return data.customer(name=name, tags=list(tags), needs=needs, contacts=contacts or [
        {"name": "王芳", "title": "经理", "mobile": "13912345678", "is_primary": True}],
        **over)


# --- examples --------------------------------------------------------------------------
def test_two_character_chinese_fragment_and_ranking(db):
    clear(db)
    made = create(db, [
        row("上海科技有限公司"),             # contains 科技
        row("科技"),                          # exact name
        row("北京蓝天有限公司", needs="科技改造"),  # needs
        row("科技园开发有限公司"),           # name prefix
        row("北京科学仪器有限公司"),         # 科 and 技 apart: no match
        row("杭州技科有限公司"),             # reversed: no match
        row("深圳宏远有限公司", tags=["科技"]),  # tag
    ])
    by = {c["name"]: c["id"] for c in made}
    got, _, total, estimate = ids(db, {"q": "科技"})
    assert got == [by["科技"], by["科技园开发有限公司"], by["上海科技有限公司"],
                   by["北京蓝天有限公司"], by["深圳宏远有限公司"]]
    assert got == reference(made, {"q": "科技"})
    assert (total, estimate) == (5, False)


def test_exact_uscc_first_and_prefix_through_the_unique_index(db):
    clear(db)
    made = create(db, [row("甲公司"), row("乙公司"), row("丙公司")])
    target = made[1]
    got = ids(db, {"q": target["uscc"]})[0]
    assert got[0] == target["id"]
    assert got == reference(made, {"q": target["uscc"]})
    # lower case and full width typed: the same customer
    wide = unicodedata.normalize("NFKC", target["uscc"]).translate(
        {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    assert ids(db, {"q": wide})[0][0] == target["id"]
    assert ids(db, {"q": target["uscc"][:10]})[0] == reference(made, {"q": target["uscc"][:10]})


def test_percent_and_underscore_are_literal(db):
    clear(db)
    made = create(db, [row("百分之百%有限公司"), row("百分之百有限公司"),
                       row("下划线_公司"), row("下划线X公司")])
    assert ids(db, {"q": "百%"})[0] == [made[0]["id"]]
    assert ids(db, {"q": "%"})[0] == []  # one character: no value starts with it
    assert ids(db, {"q": "%有"})[0] == [made[0]["id"]]
    assert ids(db, {"q": "线_"})[0] == [made[2]["id"]]
    assert ids(db, {"q": "_公"})[0] == [made[2]["id"]]
    assert ids(db, {"q": "百%"})[0] == reference(made, {"q": "百%"})
    odd = create(db, [row("反斜杠\\N\t公司", needs="制表\t符")])  # COPY's escapes
    assert ids(db, {"q": "杠\\n"})[0] == [odd[0]["id"]]
    assert ids(db, {"q": "表 符"})[0] == [odd[0]["id"]]  # a tab is whitespace: one space


def test_contact_names_mobiles_exact_and_last4(db):
    clear(db)
    made = create(db, [
        row("甲公司", contacts=[{"name": "欧阳修", "title": "经理", "mobile": "13800138000",
                                "is_primary": True}]),
        row("乙公司", contacts=[{"name": "李白", "title": "经理", "mobile": "13900008000",
                                "is_primary": True}]),
    ])
    assert ids(db, {"q": "欧阳"})[0] == [made[0]["id"]]
    assert ids(db, {"q": "13800138000"})[0] == [made[0]["id"]]
    assert ids(db, {"q": "138 0013 8000"})[0] == [made[0]["id"]]
    assert ids(db, {"q": "8000"})[0] == [made[0]["id"], made[1]["id"]]
    assert ids(db, {"q": "0013"})[0] == []  # not the last four: no match
    assert ids(db, {"q": "1380013800"})[0] == []  # ten digits: no match


def test_cursor_paging_is_stable_under_concurrent_inserts(db):
    clear(db)
    made = create(db, [row(f"稳定{i:02d}科技有限公司", tags=["t"]) for i in range(25)])
    for filters in ({"q": "科技"}, {}, {"sort": "name"}, {"sort": "-updated"},
                    {"tags_all": ["t"]}):
        seen, cursor, pages = [], None, 0
        while pages == 0 or cursor:
            got, cursor, _, _ = ids(db, filters, 4, cursor)
            seen += got
            pages += 1
            assert pages < 100
            if pages <= 3:  # someone creates matching customers between two pages
                made += create(db, [row("稳定00科技有限公司", tags=["t"]),
                                    row("稳定99科技有限公司", tags=["t"])])
        assert len(seen) == len(set(seen)), filters            # nothing repeated
        before = {c["id"] for c in made[:25]}
        assert before <= set(seen), filters                    # nothing skipped


def test_page_numbers_keep_working_and_agree_with_the_cursor(db):
    clear(db)
    create(db, [row(f"页码{i:02d}有限公司") for i in range(13)])
    for filters in ({}, {"q": "页码"}, {"sort": "-name"}):
        walked, _, _ = all_pages(db, filters, page_size=5)
        paged = []
        for page in (1, 2, 3):
            paged += ids(db, filters, 5, page=page)[0]
        assert paged == walked


def test_total_is_exact_up_to_the_threshold_then_an_estimate(db):
    clear(db)
    n = paging.TOTAL_EXACT_UP_TO + 40
    create(db, [row(f"估算{i}科技有限公司", tags=["a" if i % 2 else "b"])
                for i in range(n)])
    _, _, total, estimate = ids(db, {"q": "科技"})
    assert estimate is True and abs(total - n) <= n * 0.05
    _, _, total, estimate = ids(db, {})
    assert estimate is True and abs(total - n) <= n * 0.05
    _, _, total, estimate = ids(db, {"tags_all": ["a"]})
    assert (total, estimate) == (n // 2, False)


def test_a_cursor_from_another_query_or_tampered_is_refused(db):
    clear(db)
    create(db, [row(f"游标{i}有限公司") for i in range(5)])
    _, cursor, _, _ = ids(db, {"q": "游标"}, 2)
    for bad, filters in ((cursor, {"q": "别的"}), (cursor[:-3] + "xyz", {"q": "游标"}),
                         ("not-a-cursor", {}), (paging.encode_cursor({}, ["x"]), {})):
        with pytest.raises(ValidationError) as exc:
            ids(db, filters, 2, bad)
        assert set(exc.value.fields) == {"cursor"}


def test_staff_see_only_their_own_in_search(db):
    clear(db)
    mine = create(db, [row("共享科技有限公司")])
    other = Actor({"id": "srch-u2", "roles": ["staff"], "department": "sales"})
    create(db, [row("共享科技有限公司")], actor=other)
    assert ids(db, {"q": "共享科技"}, actor=STAFF)[0] == [mine[0]["id"]]


def test_update_reindexes_name_contacts_and_tags(db):
    clear(db)
    made = create(db, [row("旧名字有限公司", tags=["旧标签"])])
    cid = made[0]["id"]
    with db.unit_of_work() as uow:
        from services.customers import repository as repo
        c = repo.get(uow.session, cid, STAFF, for_update=True)
        commands.update(uow, STAFF, c, {"name": "新名字有限公司"}, WHEN)
        commands.apply(uow, STAFF, c, WHEN, "tags_changed",
                       lambda x: repo.set_tags(x, ["新标签"]))
        uow.commit()
    assert ids(db, {"q": "旧名字"})[0] == [] and ids(db, {"q": "旧标签"})[0] == []
    assert ids(db, {"q": "新名字"})[0] == [cid] and ids(db, {"q": "新标签"})[0] == [cid]


# --- property: the index answers what the brute-force reference answers ----------------
ALPHABET = "科技北京上海有限公司%_蓝天 aB1"
_text = st.text(alphabet=ALPHABET, min_size=1, max_size=8)


@st.composite
def datasets(draw):
    n = draw(st.integers(min_value=1, max_value=8))
    rows = []
    for _ in range(n):
        name = draw(st.text(alphabet=ALPHABET, min_size=2, max_size=10))
        if not name.strip() or len(name.strip()) < 2:
            name = "科技" + name
        rows.append(row(
            name, tags=draw(st.lists(st.sampled_from(["科技", "老客户", "a_b", "%"]),
                                     max_size=3, unique=True)),
            needs=draw(st.one_of(st.none(), _text)),
            type=draw(st.sampled_from(["potential", "closed"])),
            contacts=[{"name": draw(st.text(alphabet=ALPHABET, min_size=1, max_size=4))
                       .strip() or "王", "title": "经理",
                       "mobile": f"139{draw(st.integers(0, 99999999)):08d}",
                       "is_primary": True}]))
    return rows


@st.composite
def searches(draw, made):
    kind = draw(st.sampled_from(["fragment", "random", "uscc", "mobile4", "none"]))
    c = draw(st.sampled_from(made))
    if kind == "fragment":
        source = draw(st.sampled_from([c["name"], c.get("needs") or c["name"],
                                       c["contacts"][0]["name"], *c["tags"]]))
        i = draw(st.integers(0, max(0, len(source) - 1)))
        q = source[i:i + draw(st.integers(1, 4))]
    elif kind == "random":
        q = draw(_text)
    elif kind == "uscc":
        q = c["uscc"][:draw(st.integers(4, 18))]
    elif kind == "mobile4":
        q = c["contacts"][0]["mobile"][-4:]
    else:
        q = ""
    f = {"q": q} if q.strip() else {}
    if draw(st.booleans()):
        f["tags_any"] = draw(st.lists(st.sampled_from(["科技", "老客户", "a_b", "%"]),
                                      min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        f["type"] = draw(st.sampled_from(["potential", "closed"]))
    return f


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(st.data())
def test_search_equals_the_brute_force_reference(db, data_):
    clear(db)
    made = create(db, data_.draw(datasets()))
    for _ in range(4):
        f = data_.draw(searches(made))
        walked, total, estimate = all_pages(db, f, page_size=3)
        expected = reference(made, f)
        assert walked == expected, f
        assert (total, estimate) == (len(expected), False), f


def test_a_merged_customer_leaves_the_index_and_its_contacts_follow(db):
    from services.customers import merge
    clear(db)
    keep, gone = create(db, [
        row("保留公司", contacts=[{"name": "张三", "title": "经理", "mobile": "13800138000",
                                  "is_primary": True}]),
        row("合并掉的公司", tags=["并入标签"], contacts=[
            {"name": "欧阳娜娜", "title": "经理", "mobile": "13900139000",
             "is_primary": True}])])
    with db.unit_of_work() as uow:
        merge.merge(uow, MANAGER, keep["id"], gone["id"], WHEN)
        uow.commit()
    assert ids(db, {"q": "合并掉"})[0] == []
    assert ids(db, {"q": "欧阳娜娜"})[0] == [keep["id"]]
    assert ids(db, {"q": "并入标签"})[0] == [keep["id"]]
    assert ids(db, {"q": "9000"})[0] == [keep["id"]]
    assert ids(db, {})[0] == [keep["id"]] and ids(db, {})[2] == 1


def test_list_items_are_what_get_customer_answers(db):
    """The page's rows (one joined statement) equal the single-customer reader's dict,
    for the owner (contacts in clear) and for a manager (masked)."""
    from services.customers import repository as repo
    clear(db)
    made = create(db, [
        row("读一致公司", tags=["乙", "甲"], needs="扩产", contacts=[
            {"name": "王芳", "title": "采购经理", "mobile": "13912345678",
             "email": "w@example.cn", "birthday": "1980-05-06",
             "preferred_channel": "wechat", "is_primary": True},
            {"name": "李四", "title": "工程师", "mobile": "13812345678"}]),
        row("没有标签公司")])
    for who in (STAFF, MANAGER):
        got, _, _, _ = ids(db, {}, actor=who)
        with db.read_unit_of_work() as ro:
            listed = listing.outputs(ro.connection, got, who)
            single = [repo.read(ro.connection, c["id"], who) for c in made]
        assert listed == single


def test_filters_ranges_prefix_and_tags_any(db):
    clear(db)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    def at(when, rows, actor=STAFF):
        plans = [commands.prepare_create(actor, load(CustomerInSchema(), dict(r)), when)
                 for r in rows]
        with db.unit_of_work() as uow:
            commands.write_created(uow, actor, plans, when)
            uow.commit()
        return [p["record"]["id"] for p in plans]

    a = at(t0, [row("一月公司", industry_code="C35", region="北京", tags=["x"])])[0]
    b = at(t0 + dt.timedelta(days=31), [row("二月公司", industry_code="C39", region="上海",
                                            tags=["y"])])[0]
    c = at(t0 + dt.timedelta(days=60), [row("三月公司", industry_code="I65", region="北京",
                                            tags=["x", "y"])])[0]
    f = ids  # noqa: E731 - short alias
    assert f(db, {"created_from": "2026-02-01T00:00:00Z"})[0] == [b, c]
    assert f(db, {"created_to": "2026-02-01T00:00:00"})[0] == [a]  # no offset = UTC
    assert f(db, {"created_from": "2026-01-01T00:00:00+00:00",
                  "created_to": "2026-03-01T00:00:00+00:00"})[0] == [a, b]
    assert f(db, {"updated_from": "2026-03-02T00:00:00Z"})[0] == [c]
    assert f(db, {"industry_code": "c3"})[0] == [a, b]  # a prefix, any case
    assert f(db, {"industry_code": "C35"})[0] == [a]
    assert f(db, {"region": "北京"})[0] == [a, c]
    assert f(db, {"tags_any": ["y"], "region": "北京"})[0] == [c]
    assert f(db, {"tags_all": ["x", "y"]})[0] == [c]
    assert f(db, {"owner_id": STAFF.id, "sort": "-name"})[0] == sorted(
        [a, b, c], key=lambda i: {a: "一月公司", b: "二月公司", c: "三月公司"}[i], reverse=True)
    with pytest.raises(ValidationError) as exc:
        f(db, {"created_from": "yesterday"})
    assert set(exc.value.fields) == {"created_from"}


def test_deep_page_numbers_with_q_ask_for_the_cursor(db):
    clear(db)
    create(db, [row("深页科技有限公司")])
    with pytest.raises(ValidationError) as exc:
        ids(db, {"q": "科技"}, page_size=20, page=501)  # rows 10,001-10,020
    assert set(exc.value.fields) == {"page"}
    assert ids(db, {"q": "科技"}, page_size=20, page=500)[0] == []  # still answered


def test_quotes_backslashes_commas_and_braces_round_trip_through_the_index(db):
    """The index rows are written set-based (PostgreSQL: each column sent as one joined
    text, split by the server): characters that quote, escape or separate array or
    SQL literals are searched like any other."""
    clear(db)
    made = create(db, [
        row("O'Brien\\科技有限公司"),
        row('甲,乙{丙}"丁"公司', tags=["a,b", "{x}"]),
        row("NULL商贸公司", needs="100% 达标"),
        row("普通公司", contacts=[{"name": "E'\\z", "title": "经理",
                                   "mobile": "13912340000", "is_primary": True}]),
    ])
    for q in ("'b", "\\科", "甲,", "{丙", '"丁', "a,", "{x", "null", "0% ", "nu", "'\\",
              "e'", "0000"):
        got, _, total, _ = ids(db, {"q": q})
        assert got == reference(made, {"q": q}), q
        assert got and total == len(got), q
