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
    return [s for s in statements if not s.in_flush and _says(s, keyword)]


# Code that can write whatever it likes, the words hidden in a string it EXECUTEs ('UPD' ||
# 'ATE ...'): DO and CALL where a statement starts (`call` may be a column or a label
# elsewhere), and a function or procedure of one's own.
_CODE = re.compile(
    r"(?:\A|;)\s*(?:DO|CALL)\b"
    r"|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:FUNCTION|PROCEDURE|VIEW|RULE)\b"
)
_WRITES = re.compile(
    r"(?<!\bFOR )(?<!\bKEY )\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|ALTER|DROP|CLUSTER)\b"
)


def writes(statements: Sequence[Statement]) -> list[Statement]:
    """Statements that change rows, or alter, drop or reorder (CLUSTER) what holds them,
    however written (a WITH around an UPDATE, a flushed INSERT, ALTER TABLE ... USING), and
    code that could, or that changes what a table's name means (DO or CALL where a statement
    starts, CREATE FUNCTION, PROCEDURE, VIEW or RULE, temporary too). Not other CREATEs: a new
    index or table changes no row (a keyset drill may well make its index). SELECT ... FOR
    UPDATE is a lock, not a write."""
    return [s for s in statements if _says(s, _WRITES)]


_ENDS = re.compile(r"(?:\A|;)\s*(?:COMMIT|END)\b(?!\s+PREPARED)")


def commits_by_hand(statements: Sequence[Statement]) -> list[Statement]:
    """Statements that commit the transaction they run in, sent as SQL (COMMIT, END, also
    after a `;` or a comment), behind the session's back."""
    return [s for s in statements if _ENDS.search(_code(s))]


def _says(statement: Statement, words: re.Pattern[str]) -> bool:
    """`words` in the statement's code (strings, names and comments gone), or code that could
    write anything at all (see _CODE)."""
    code = _code(statement)
    return bool(words.search(code) or _CODE.search(code))


def _code(statement: Statement) -> str:
    """The statement as sent, upper-cased, without strings, quoted names and comments."""
    return _code_only(statement.raw or statement.sql).upper()


def _code_only(sql: str, names: bool = False) -> str:
    """The SQL without its string literals (dollar-quoted, E'...' with its backslashes, plain),
    comments (nested ones too, as Postgres nests them) and, unless `names`, quoted names:
    words there do nothing, and one misread quote would hide the rest of the statement. A
    scan from left to right, as the server reads it (a `--` inside a string is no comment)."""
    out: list[str] = []
    at, end = 0, len(sql)
    while at < end:
        found = _SPECIAL.search(sql, at)
        if found is None:
            out.append(sql[at:])
            break
        start = found.start()
        out.append(sql[at:start])
        token = found.group()
        if start > 0 and (sql[start - 1].isalnum() or sql[start - 1] in "_$") and token[0] in "$eE":
            out.append(sql[start])  # part of a name: a$q$, or the e of some'
            at = start + 1
            continue
        at = _skip(sql, start, token)
        kept = sql[start:at] if names and token == '"' else ""
        out.append(re.sub(r"[()]", "_", kept) if kept else " ")  # a name keeps no parentheses
    return "".join(out)


_SPECIAL = re.compile(r"--|/\*|[eE]'|'|\"|\$(?:[A-Za-z_]\w*)?\$")


def _skip(sql: str, start: int, token: str) -> int:
    """Where the comment, string or quoted name opened by `token` at `start` ends."""
    end = len(sql)
    if token == "--":
        newline = sql.find("\n", start)
        return end if newline < 0 else newline
    if token == "/*":
        depth, at = 1, start + 2
        while at < end and depth:
            if sql.startswith("/*", at):
                depth, at = depth + 1, at + 2
            elif sql.startswith("*/", at):
                depth, at = depth - 1, at + 2
            else:
                at += 1
        return at
    if token.startswith("$"):
        close = sql.find(token, start + len(token))
        return end if close < 0 else close + len(token)
    quote = token[-1]
    backslashes = token[0] in "eE"
    at = start + len(token)
    while at < end:
        char = sql[at]
        if backslashes and char == "\\":
            at += 2
        elif char == quote:
            if sql.startswith(quote * 2, at):
                at += 2
            else:
                return at + 1
        else:
            at += 1
    return end
