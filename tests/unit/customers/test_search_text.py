"""services.customers.search's text rules against cases written from the contract:
NFKC (full width = half width), lower case, whitespace runs → one space, no control
characters; bigrams of each value; what a query can match."""
from services.customers import search


def test_norm():
    assert search.norm("ＡＢＣ　科技\t有限公司 ") == "abc 科技 有限公司"
    assert search.norm("a\x00b\x01c") == "abc"
    assert search.norm(None) == "" and search.norm("  ") == ""


def test_bigrams_and_tokens_stay_inside_one_value():
    assert search.bigrams("科技园") == {"科技", "技园"}
    toks = search.tokens(["蓝天", "科技"], ["13800138000"])
    assert toks == {"蓝天", "科技", "\x02蓝", "\x02科", "\x038000"}  # no "天科"


def test_query_kinds():
    q = search.Query("９１３１００００ＭＡ１ＦＬ１ＭＴ４Ｘ")
    assert q.uscc_exact == "91310000MA1FL1MT4X"
    assert search.Query("91310000").uscc_prefix == "91310000"
    assert search.Query("913").uscc_prefix is None  # fewer than 4: no USCC prefix
    assert search.Query("138 0013 8000").mobile == "13800138000"
    assert search.Query("8000").last4 == "8000"
    assert search.Query("科").grams == ["\x02科"]
    assert search.Query("科技园").grams == ["技园", "科技"]
    assert search.Query("%_").grams == ["%_"]
    assert search.Query("   ").empty


def test_postgresql_rows_go_as_joined_text_unless_a_value_holds_the_separator():
    sql, params = search._pg_unnest("customer_search_tokens", search.TOKEN_COLS,
                                    [("科技", 7), ("\x02科", 12)])
    assert params == ["科技\x1f\x02科", "7,12"] and sql.count("string_to_array") == 2
    sql, params = search._pg_unnest("customer_search_tokens", search.TOKEN_COLS,
                                    [("a\x1fb", 7), ("c", 8)])
    assert params == [["a\x1fb", "c"], "7,8"] and "%s::text[]" in sql
