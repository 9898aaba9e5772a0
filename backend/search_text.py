"""What full-text search indexes and asks for, the same on both databases, and the highlighting.

Chinese (Japanese, Korean) is written without spaces, so a word tokenizer sees a whole run of
characters as one word and ``订单`` would not find ``我的订单没到``. Both databases therefore index
a text in which every such run is replaced by its overlapping two-character pieces (bigrams):
``我的订单没到`` → ``我的 的订 订单 单没 没到``, in order. A query word of two or more such
characters becomes the phrase of its bigrams (consecutive, so it matches exactly that run of
characters, inside a longer one too); a single character matches the bigrams that start with it.
Latin words are indexed as before.

- SQLite: :func:`index_text` is registered on every connection as ``fieldsync_fts_text``
  (:func:`backend.db.make_engine`); the FTS5 triggers call it (migration 0011_console_speed), so
  a connection made without it cannot write messages or subjects.
- PostgreSQL: :data:`PG_FUNCTION` defines the same function in SQL (immutable, so the GIN
  expression indexes can use it).

Snippets and highlights are made here from the stored text (not by the database), so they look
the same on both and never show the bigrams (the search itself: :mod:`backend.messaging.search`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: Hiragana, katakana, CJK unified ideographs (and extension A), compatibility ideographs, Hangul.
CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
CJK_RUN = re.compile(f"[{CJK_CLASS}]+")
SEGMENT = re.compile(f"[{CJK_CLASS}]+|[^{CJK_CLASS}]+")
MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_CHARS = 160
_LETTER = f"[^\\W_{CJK_CLASS}]"  # a letter or digit of a spaced script

# The PostgreSQL twin of index_text: CJK runs become their bigrams, everything else stays.
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION fieldsync_fts_text(t text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ "
    f"SELECT CASE WHEN t !~ '[{CJK_CLASS}]' THEN t ELSE ("
    f"SELECT string_agg(CASE WHEN s.p ~ '^[{CJK_CLASS}]' THEN ' ' || ("
    "SELECT string_agg(substr(s.p, i, 2), ' ' ORDER BY i) "
    "FROM generate_series(1, greatest(length(s.p) - 1, 1)) AS i) || ' ' ELSE s.p END, '' ORDER BY s.n) "
    f"FROM regexp_matches(t, '[{CJK_CLASS}]+|[^{CJK_CLASS}]+', 'g') WITH ORDINALITY AS m(a, n), "
    "LATERAL (SELECT m.a[1] AS p, m.n AS n) AS s) END $fn$"
)


def bigrams(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


def index_text(text: str | None) -> str | None:
    """The text the index sees: each CJK run replaced by its bigrams (SQLite's function)."""
    if text is None or not CJK_RUN.search(text):
        return text
    return CJK_RUN.sub(lambda m: " " + " ".join(bigrams(m.group())) + " ", text)


def segments(word: str) -> list[tuple[str, bool]]:
    """A query word cut into CJK runs and the rest: ``abc订单`` → ``[("abc", False), ("订单", True)]``."""
    return [(s, bool(CJK_RUN.fullmatch(s))) for s in SEGMENT.findall(word)]


def _query_segments(words: list[str]) -> Iterator[tuple[str, bool, bool]]:
    """Each segment of the query words as ``(text, is_cjk, is_the_query's_last)``."""
    for i, word in enumerate(words):
        segs = segments(word)
        for j, (seg, cjk) in enumerate(segs):
            yield seg, cjk, i == len(words) - 1 and j == len(segs) - 1


def fts5_query(words: list[str]) -> str:
    """Every word must match; the last one (if Latin) as a prefix; CJK runs as phrases of bigrams."""
    parts = []
    for seg, cjk, last in _query_segments(words):
        if cjk:
            parts.append(f'"{seg}"*' if len(seg) == 1 else '"' + " ".join(bigrams(seg)) + '"')
        else:
            parts.append(f'"{seg}"' + ("*" if last else ""))
    return " ".join(parts)


def pg_query(words: list[str]) -> str:
    """The same as :func:`fts5_query` for ``to_tsquery('simple', …)``."""
    parts = []
    for seg, cjk, last in _query_segments(words):
        if cjk:
            parts.append(f"{seg}:*" if len(seg) == 1 else "(" + " <-> ".join(bigrams(seg)) + ")")
        else:
            parts.append(seg + (":*" if last else ""))
    return " & ".join(parts)


def _pattern(words: list[str]) -> re.Pattern[str]:
    alts = []
    for seg, cjk, last in _query_segments(words):
        if cjk:
            alts.append(re.escape(seg))
        else:
            end = f"{_LETTER}*" if last else f"(?!{_LETTER})"
            alts.append(f"(?<!{_LETTER})" + re.escape(seg) + end)
    alts.sort(key=len, reverse=True)
    return re.compile("|".join(alts), re.IGNORECASE)


def highlight(text: str, words: list[str], *, snippet: bool = False) -> str:
    """``text`` with the matched words wrapped in :data:`MARK_START` / :data:`MARK_END`; with
    ``snippet``, only about :data:`SNIPPET_CHARS` characters around the first match."""
    if not words:
        return text
    pattern = _pattern(words)
    head, tail = "", ""
    if snippet and len(text) > SNIPPET_CHARS:
        first = pattern.search(text)
        start = max(0, (first.start() if first else 0) - SNIPPET_CHARS // 3)
        if start:
            space = text.find(" ", start, start + 20)
            start = space + 1 if space != -1 else start
            head = "…"
        end = min(len(text), start + SNIPPET_CHARS)
        if end < len(text):
            space = text.rfind(" ", end - 20, end)
            end = space if space > start else end
            tail = "…"
        text = text[start:end]
    return head + pattern.sub(lambda m: MARK_START + m.group() + MARK_END, text) + tail
