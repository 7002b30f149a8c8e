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
    """ORDER BY in the statement's own query (not in a comment, a string, or a window's OVER
    (...), nor a subquery's); with `column`, sorted first on that column (and DESC with
    `descending`): as a later key it only breaks ties, and Python may have done the sorting."""
    tail = r"\s+DESC" if descending else ""
    code = _code_only(statement.raw or statement.sql, names=True)
    name = ""
    if column is not None:
        # The column, or a label the statement gives it (`created_at AS ts ... ORDER BY ts`).
        column_pattern = rf"(?:[\w\"]+\.)?\"?{re.escape(column)}\"?"
        labels = re.findall(rf"{column_pattern}\s+AS\s+(\"?\w+\"?)", code, re.I)
        either = "|".join([column_pattern, *(re.escape(label) for label in labels)])
        name = rf"(?:{either}){tail}\b"
    for found in re.finditer(r"\bORDER\s+BY\s+", code, re.I):
        if _depth(code, found.start()) == 0 and re.match(name, code[found.end() :], re.I | re.S):
            return True
    return False


def _depth(code: str, at: int) -> int:
    """How many parentheses are open at `at` (strings and comments are gone from `code`)."""
    return code.count("(", 0, at) - code.count(")", 0, at)


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
    also one inside a WITH (`WITH u AS (UPDATE ...) SELECT ...`), and code that could do it
    by hand whatever it says (DO, CALL, a function of one's own: see `writes`).
    `SELECT ... FOR UPDATE` is a lock, not an UPDATE."""
    keyword = re.compile(rf"(?<!\bFOR )(?<!\bKEY )\b{verb.upper()}\b")
    found = []
    for statement in statements:
        code = _code_only(statement.raw or statement.sql).upper()
        if not statement.in_flush and (keyword.search(code) or _CODE.search(code)):
            found.append(statement)
    return found


# Code that can write whatever it likes, the words hidden in a string it EXECUTEs ('UPD' ||
# 'ATE ...'): DO and CALL where a statement starts (`call` may be a column or a label
# elsewhere), and a function or procedure of one's own.
_CODE = re.compile(r"(?:\A|;)\s*(?:DO|CALL)\b|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\b")
_WRITES = re.compile(r"(?<!\bFOR )(?<!\bKEY )\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|ALTER|DROP)\b")


def writes(statements: Sequence[Statement]) -> list[Statement]:
    """Statements that change rows, or alter or drop what holds them, however written (a WITH
    around an UPDATE, a flushed INSERT, ALTER TABLE ... USING), and code that could (DO or
    CALL where a statement starts, CREATE FUNCTION or PROCEDURE). Not other CREATEs: a new
    index or table changes no row (a keyset drill may well make its index). SELECT ... FOR
    UPDATE is a lock, not a write."""
    found = []
    for statement in statements:
        code = _code_only(statement.raw or statement.sql).upper()
        if _WRITES.search(code) or _CODE.search(code):
            found.append(statement)
    return found


def _code_only(sql: str, names: bool = False) -> str:
    """The SQL without its string literals (dollar-quoted, E'...' with its backslashes, plain),
    comments and, unless `names`, quoted names: words there do nothing, and one misread quote
    would hide the rest of the statement."""
    if not names:
        return _NOT_CODE_OR_NAME.sub(" ", sql)
    # A name stays, without parentheses of its own: they would count as the query's.
    return _NOT_CODE.sub(lambda m: re.sub(r"[()]", "_", m.group("name") or " "), sql)


_NOT_CODE_OR_NAME = re.compile(
    r"\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$"  # $$...$$, $tag$...$tag$
    r"|(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'"  # E'it\'s'
    r"|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/",
    flags=re.S,
)
# The same, with quoted names kept as they are (put back whole by the replacement).
_NOT_CODE = re.compile(r"(?P<name>\"(?:[^\"]|\"\")*\")|" + _NOT_CODE_OR_NAME.pattern, flags=re.S)
