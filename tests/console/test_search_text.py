"""What the full-text indexes see and what a query asks for (CJK bigrams), and highlighting."""

from __future__ import annotations

from backend.search_text import MARK_END, MARK_START, fts5_query, highlight, index_text, pg_query


def test_cjk_runs_become_bigrams_and_latin_stays() -> None:
    assert index_text("plain words") == "plain words"
    assert index_text("我的订单没到 abc好") == " 我的 的订 订单 单没 没到  abc 好 "
    assert index_text(None) is None


def test_queries_are_phrases_of_bigrams_with_the_last_latin_word_a_prefix() -> None:
    assert fts5_query(["订单没到", "abc"]) == '"订单 单没 没到" "abc"*'
    assert fts5_query(["订", "po"]) == '"订"* "po"*'
    assert pg_query(["订单没到", "abc"]) == "(订单 <-> 单没 <-> 没到) & abc:*"
    assert pg_query(["abc订单"]) == "abc & (订单)"


def test_highlight_marks_words_inside_runs_and_prefixes() -> None:
    m = MARK_START + "{}" + MARK_END
    assert highlight("我的订单没到", ["订单"]) == "我的" + m.format("订单") + "没到"
    prefix = highlight("Invoices and invoice", ["invoice"])  # the last word: a prefix
    assert prefix == m.format("Invoices") + " and " + m.format("invoice")
    whole = highlight("invoices and invoice", ["invoice", "and"])  # an earlier word: whole
    assert whole == "invoices " + m.format("and") + " " + m.format("invoice")
    long = "word " * 80 + "target " + "tail " * 80
    snippet = highlight(long, ["target"], snippet=True)
    assert snippet.startswith("…") and snippet.endswith("…") and m.format("target") in snippet
    assert len(snippet) < 200
