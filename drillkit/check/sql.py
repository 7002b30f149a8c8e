"""Questions about the SQL the learner's code actually sent (recorded on the sandbox engine)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from drillkit.check.recorder import Statement


def selects_from(statements: Sequence[Statement], table: str) -> list[Statement]:
    """SELECTs (or WITH queries) that read `table`."""
    pattern = re.compile(rf"\b(FROM|JOIN)\s+(\w+\.)?{re.escape(table)}\b", re.I)
    return [s for s in statements if s.verb in ("SELECT", "WITH") and pattern.search(s.sql)]


def has_order_by(statement: Statement, column: str | None = None, descending: bool = False) -> bool:
    """ORDER BY in the statement; with `column`, on that column (and DESC with `descending`)."""
    if column is None:
        return "ORDER BY" in statement.sql.upper()
    tail = r"\s+DESC" if descending else ""
    return re.search(rf"ORDER BY .*\b{re.escape(column)}{tail}\b", statement.sql, re.S | re.I) is not None


def filtered_on(statements: Sequence[Statement], table: str, column: str) -> bool:
    """Some SELECT from `table` has a WHERE and mentions `column` (in the WHERE, or in a JOIN
    that the WHERE narrows): a query, a lazy load or a selectin load."""
    return any(
        "WHERE" in s.sql.upper() and re.search(rf"\b{re.escape(column)}\b", s.sql)
        for s in selects_from(statements, table)
    )


def written_by_hand(statements: Sequence[Statement], verb: str) -> list[Statement]:
    """Statements doing `verb` that the unit of work did not emit (text() or a bulk construct),
    also one inside a WITH (`WITH u AS (UPDATE ...) SELECT ...`). `SELECT ... FOR UPDATE` is
    a lock, not an UPDATE."""
    keyword = re.compile(rf"(?<!\bFOR )(?<!\bKEY )\b{verb.upper()}\b")
    return [s for s in statements if not s.in_flush and keyword.search(_code_only(s.raw or s.sql).upper())]


_WRITES = re.compile(r"(?<!\bFOR )(?<!\bKEY )\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|ALTER|DROP)\b")


def writes(statements: Sequence[Statement]) -> list[Statement]:
    """Statements that change rows, or alter or drop what holds them, however written (a WITH
    around an UPDATE, a flushed INSERT, ALTER TABLE ... USING). Not CREATE: a new index or
    table changes no row (a keyset drill may well make its index). SELECT ... FOR UPDATE is
    a lock, not a write."""
    return [s for s in statements if _WRITES.search(_code_only(s.raw or s.sql).upper())]


def _code_only(sql: str) -> str:
    """The SQL without its string literals, quoted names and comments (words there do nothing)."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
