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
    """ORDER BY in the statement; with `column`, sorted first on that column (and DESC with
    `descending`): as a later key it only breaks ties, and Python may have done the sorting."""
    if column is None:
        return "ORDER BY" in statement.sql.upper()
    tail = r"\s+DESC" if descending else ""
    first_key = rf"ORDER BY\s+(?:[\w\"]+\.)?\"?{re.escape(column)}\"?{tail}\b"
    return re.search(first_key, statement.sql, re.S | re.I) is not None


_CLAUSE_END = re.compile(r"\b(GROUP BY|ORDER BY|LIMIT|OFFSET|FETCH|FOR UPDATE|FOR SHARE|UNION)\b", re.I)


def filtered_by(statements: Sequence[Statement], table: str, column: str) -> list[Statement]:
    """The SELECTs from `table` that name `column` in a WHERE clause or a JOIN's ON (a query,
    a lazy load or a selectin load): not merely among the columns they select."""
    name = re.compile(rf"\b{re.escape(column)}\b")
    return [
        s
        for s in selects_from(statements, table)
        if any(
            name.search(_CLAUSE_END.split(clause, 1)[0])
            for clause in re.split(r"\bWHERE\b|\bON\b", s.sql, flags=re.I)[1:]
        )
    ]


def filtered_on(statements: Sequence[Statement], table: str, column: str) -> bool:
    """Some SELECT from `table` is filtered on `column` (see filtered_by)."""
    return bool(filtered_by(statements, table, column))


def written_by_hand(statements: Sequence[Statement], verb: str) -> list[Statement]:
    """Statements doing `verb` that the unit of work did not emit (text() or a bulk construct),
    also one inside a WITH (`WITH u AS (UPDATE ...) SELECT ...`). `SELECT ... FOR UPDATE` is
    a lock, not an UPDATE."""
    keyword = re.compile(rf"(?<!\bFOR )(?<!\bKEY )\b{verb.upper()}\b")
    return [s for s in statements if not s.in_flush and keyword.search(_code_only(s.raw or s.sql).upper())]


# DO, CALL and a function or procedure of one's own: code that can write whatever it likes,
# with the words hidden in a string it EXECUTEs ('UPD' || 'ATE ...').
# DO and CALL only start a statement (`call` may be a column or a label elsewhere).
_WRITES = re.compile(
    r"(?<!\bFOR )(?<!\bKEY )\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|ALTER|DROP)\b"
    r"|\A\s*(?:DO|CALL)\b|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\b"
)


def writes(statements: Sequence[Statement]) -> list[Statement]:
    """Statements that change rows, or alter or drop what holds them, however written (a WITH
    around an UPDATE, a flushed INSERT, ALTER TABLE ... USING), and code that could (DO,
    CALL, CREATE FUNCTION or PROCEDURE). Not other CREATEs: a new index or table changes no
    row (a keyset drill may well make its index). SELECT ... FOR UPDATE is a lock, not a
    write."""
    return [s for s in statements if _WRITES.search(_code_only(s.raw or s.sql).upper())]


def _code_only(sql: str) -> str:
    """The SQL without its string literals, quoted names and comments (words there do nothing)."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
