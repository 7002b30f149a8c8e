"""What a database check sees: the run schema, read by drillkit's own connection.

Runs in drillkit's process after the learner's child has ended, so nothing the learner's
code did in memory can change what it reports: only what Postgres holds. Plain psycopg and
the system catalogs (no SQLAlchemy), scoped to the run schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drillkit.check.framework import Fail

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Column:
    """A column as Postgres has it. Judge a column's type by `builtin` as well as `type`: a
    learner's enum or domain can be named like anything ("text", "email(255)")."""

    name: str
    type: str  # as Postgres spells it: "integer", "character varying(200)", "text", ...
    nullable: bool
    default: str | None
    identity: bool  # GENERATED ... AS IDENTITY
    builtin: bool = True  # one of PostgreSQL's own scalar types: no enum, domain, array or own type
    length: int | None = None  # the limit of a varchar(n) or char(n)
    numbered: bool = False  # Postgres fills it in: identity, or a serial's nextval() of its sequence


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    referred: tuple[str, ...]


# A column's facts from the catalogs, not from the text of its type or default: a learner's
# enum named "email(255)" has no length, and a default that merely mentions "nextval(" numbers
# nothing. Numbered: an identity, or exactly `nextval('seq'::regclass)` of a sequence.
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
    pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '',
    t.typnamespace = 'pg_catalog'::regnamespace AND t.typtype = 'b' AND t.typcategory <> 'A',
    CASE WHEN t.typnamespace = 'pg_catalog'::regnamespace AND t.typname IN ('varchar', 'bpchar')
        AND a.atttypmod > 4 THEN a.atttypmod - 4 END,
    a.attidentity <> '' OR (
        pg_get_expr(d.adbin, d.adrelid) ~ '^nextval\\(''[^'']+''::regclass\\)$'
        AND EXISTS (
            SELECT 1 FROM pg_depend p JOIN pg_class s ON s.oid = p.refobjid AND s.relkind = 'S'
            WHERE p.classid = 'pg_attrdef'::regclass AND p.objid = d.oid))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def pyformat(sql: str) -> str:
    """SQLAlchemy text()'s `:name` parameters in psycopg's spelling (`%(name)s`)."""
    return _NAMED.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))


@contextmanager
def read_failures() -> Iterator[None]:
    """A check's SQL that fails on what the learner's code left is the learner's failure."""
    import psycopg

    try:
        yield
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        # The learner's doing (a dropped or renamed table, a model without the column), not
        # the checker's: `drill validate` runs every check on the reference solution.
        raise Fail(
            "a table or column this check reads is not there",
            expected="the drill's tables as its fixture made them, and what the task asks for",
            actual=str(exc).strip().splitlines()[0],
            help="your code dropped or renamed something the checks read, or never made it",
        ) from None
    except psycopg.errors.InsufficientPrivilege as exc:
        # The run's role owns the schema and every table in it: only its own code can have
        # taken a right away (REVOKE), and the reference solution reads them all.
        raise Fail(
            "this check may no longer read a table your run made or was given",
            expected="the run's role keeping its rights on the drill's tables",
            actual=str(exc).strip().splitlines()[0],
            help="your code revoked a right (or changed an owner) the task does not ask about",
        ) from None
    except psycopg.errors.LockNotAvailable as exc:
        # Only the learner's code can hold a lock in the run schema: an open transaction
        # of theirs (a LOCK, DDL) that outlived the file, or the function a check called.
        raise Fail(
            "a lock your code still holds kept this check from reading the database",
            expected="every transaction your code opens ended (committed or rolled back) once it is done",
            actual=str(exc).strip().splitlines()[0],
            help="an open transaction keeps its locks, and other connections wait on them: commit, "
            "roll back or close the session before your code is done",
        ) from None
    except (psycopg.DataError, psycopg.errors.UndefinedFunction, psycopg.errors.DatatypeMismatch) as exc:
        # Values or types the learner's code left that the check's SQL cannot read: a column
        # changed to another type, a timestamp of 'infinity' (the reference passes the same).
        raise Fail(
            "this check could not read what your code left in the database",
            expected="the drill's tables with the types and kinds of values it gave them",
            actual=str(exc).strip().splitlines()[0],
            help="your code changed a column's type or stored a value the task does not ask for",
        ) from None


class DatabaseView:
    """Read-only questions about the run schema, answered by the catalogs and the rows."""

    def __init__(self, conn: psycopg.Connection, schema: str, output: str = "") -> None:
        # For a check, a connection of the run's own role (runner.py): the names a check
        # reads are the learner's objects, and a view over a function of theirs runs that
        # function as whoever reads it, with that session's rights.
        self.conn = conn
        self.schema = schema
        self._output = output

    def output(self) -> str:
        """What the learner's file printed (first 64 KiB)."""
        return self._output

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a query in the run schema; parameters as `:name`, like SQLAlchemy's text()."""
        with read_failures(), self.conn.transaction():
            scope = f'SET TRANSACTION READ ONLY; SET LOCAL search_path TO "{self.schema}"'
            self.conn.execute(scope.encode())
            return [tuple(r) for r in self.conn.execute(pyformat(sql), params).fetchall()]

    def tables(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            (self.schema,),
        ).fetchall()
        return [r[0] for r in rows]

    def columns(self, table: str) -> dict[str, Column]:
        rows = self.conn.execute(_COLUMNS, (self.schema, table)).fetchall()
        own = f"{self.schema}."  # a type of the learner's: named without the run schema
        return {r[0]: Column(r[0], r[1].removeprefix(own), r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}

    def _constraints(self, table: str, kind: str) -> list[tuple[list[str], str | None, list[str]]]:
        rows = self.conn.execute(
            "SELECT ARRAY(SELECT attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) "
            "  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i), "
            "f.relname, "
            "ARRAY(SELECT attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) "
            "  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class f ON f.oid = k.confrelid "
            "WHERE n.nspname = %s AND c.relname = %s AND k.contype = %s ORDER BY k.conname",
            (self.schema, table, kind),
        ).fetchall()
        return [(list(r[0]), r[1], list(r[2] or [])) for r in rows]

    def primary_key(self, table: str) -> list[str]:
        found = self._constraints(table, "p")
        return found[0][0] if found else []

    def foreign_keys(self, table: str) -> list[ForeignKey]:
        return [ForeignKey(tuple(c), str(t), tuple(r)) for c, t, r in self._constraints(table, "f")]

    def unique_column_sets(self, table: str) -> list[list[str]]:
        """Columns made unique by a constraint or by a unique index: one on plain columns, for
        every row (an index with a WHERE, or on an expression, makes nothing unique as such)."""
        sets = [c for c, _, _ in self._constraints(table, "u")]
        rows = self.conn.execute(
            # The key columns only: an index's INCLUDE columns follow them in indkey.
            "SELECT ARRAY(SELECT attname FROM unnest(i.indkey) WITH ORDINALITY u(n, o) "
            "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n "
            "  WHERE u.o <= i.indnkeyatts ORDER BY u.o) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisunique AND NOT i.indisprimary "
            "AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL",
            (self.schema, table),
        ).fetchall()
        return sets + [list(r[0]) for r in rows]
