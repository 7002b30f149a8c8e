"""Alembic: the learner's revision file runs under real Alembic against the run schema.

Alembic needs a script directory: each step builds a throwaway one (env.py, the base
revision, a copy of the learner's file) and removes it afterwards. env.py uses the
connection the check hands it, from the sandbox engine, so migrations run as the run's
role inside the run's schema and nowhere else.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from drillkit.check import Checks, Context, Fail

from ..common import one_line

checks = Checks()

BASE = "4d1f0c2b9a7e"
BASE_FILE = f'''"""users and documents: the tables the drill database starts with."""

revision = "{BASE}"
down_revision = None


def upgrade() -> None:
    pass  # made before this drill: the database is stamped at this revision


def downgrade() -> None:
    pass
'''
ENV_FILE = """from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
"""
COPY = "your_revision.py"  # Alembic imports this copy; its line numbers are the learner's
_state: dict[str, Any] = {}  # the schema before the migration, taken by the first Alembic step


@contextmanager
def _script_dir(ctx: Context) -> Iterator[tuple[Path, Path]]:
    """Alembic's script folder, and the folder of the copy of the learner's revision.

    The script folder is a checker folder: an error in env.py or the base revision is the
    pack's, not the learner's. Their copy lives apart from it (Alembic's version_locations),
    in a folder of no one's: what it raises stays theirs."""
    with ctx.checker_folder(prefix="drill-alembic-") as where:
        (where / "versions").mkdir()
        (where / "env.py").write_text(ENV_FILE, encoding="utf-8")
        (where / "versions" / f"{BASE}_users_and_documents.py").write_text(BASE_FILE, encoding="utf-8")
        theirs = Path(tempfile.mkdtemp(prefix="drill-revision-"))
        try:
            (theirs / COPY).write_text(ctx.source, encoding="utf-8")  # the file as it ran
            yield where, theirs
        finally:
            shutil.rmtree(theirs, ignore_errors=True)


def _alembic(ctx: Context, step: str, target: str) -> None:
    """`alembic <step> <target>` in one transaction on the sandbox engine."""
    from alembic import command
    from alembic.config import Config

    with _script_dir(ctx) as (where, theirs):
        try:
            with ctx.engine.begin() as conn:
                config = Config()
                config.set_main_option("script_location", str(where))
                # Split on the OS's separator, not on spaces: a TMPDIR may hold one.
                config.set_main_option("path_separator", "os")
                config.set_main_option("version_path_separator", "os")  # Alembic before 1.16
                config.set_main_option(
                    "version_locations", os.pathsep.join([str(where / "versions"), str(theirs)])
                )
                config.attributes["connection"] = conn
                getattr(command, step)(config, target)
        except DBAPIError:
            raise
        except BaseException as exc:  # SystemExit too: from their revision, it is theirs
            frames = _your_frames(exc, ctx.path)
            if not frames:
                raise
            raise Fail(
                f"during `alembic {step} {target}`, your revision raised {type(exc).__name__}",
                expected="upgrade() and downgrade() run to the end",
                actual=frames,
                help="read the last line of the error, then the line of your file above it",
            ) from None


def _your_frames(exc: BaseException, path: Path) -> str | None:
    """The traceback lines from Alembic's copy of the learner's file, shown as theirs."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == COPY]
    if not frames:
        return None
    lines = []
    for frame in frames[-5:]:
        lines.append(f"  {path.name}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line}")
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return "\n".join([*lines, message[:600]])


def _versions_shown(ctx: Context) -> str:
    try:
        return ", ".join(_version(ctx)) or "no rows"
    except Exception:  # the driver's error: a table of theirs by that name, with other columns
        return "a table of your own making"


def _version(ctx: Context) -> list[str]:
    return [r[0] for r in ctx.rows("SELECT version_num FROM alembic_version")]


COUNTS_PER_QUERY = 1000  # Postgres allows 1,664 columns in a SELECT; a migration may make more tables


def _snapshot(ctx: Context, like: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every table's columns, keys, constraints, indexes and rows, as Postgres has them.

    The rows as one digest per table, over the columns the table had in `like` (the snapshot
    from before the upgrade): the column the revision adds is not a change of the rows, an
    UPDATE of another column is. One catalog query per kind of fact for all the tables, not
    one per table and kind: a run takes this snapshot three times."""
    inspector = sa_inspect(ctx.truth)
    names = sorted(name for name in inspector.get_table_names() if name != "alembic_version")
    columns = inspector.get_multi_columns()
    keys = inspector.get_multi_pk_constraint()
    foreign = inspector.get_multi_foreign_keys()
    unique = inspector.get_multi_unique_constraints()
    indexes = inspector.get_multi_indexes()
    checked = inspector.get_multi_check_constraints()
    digests: list[str] = []
    for start in range(0, len(names), COUNTS_PER_QUERY):
        part = names[start : start + COUNTS_PER_QUERY]
        digests += ctx.rows(
            "SELECT "
            + ", ".join(
                f"({_rows_digest(name, _columns_of(name, columns, like))}) AS d{i}"
                for i, name in enumerate(part)
            )
        )[0]
    tables: dict[str, Any] = {}
    for name, rows in zip(names, digests, strict=True):
        key = (None, name)
        tables[name] = {
            "columns": {
                c["name"]: f"{c['type']} {'NULL' if c['nullable'] else 'NOT NULL'} default={c.get('default')}"
                for c in columns.get(key, [])
            },
            "primary key": keys.get(key, {}).get("constrained_columns") or [],
            "foreign keys": sorted(
                str(fk["constrained_columns"]) + fk["referred_table"] for fk in foreign.get(key, [])
            ),
            "unique": sorted(str(u["column_names"]) for u in unique.get(key, [])),
            "indexes": sorted(str(i["column_names"]) for i in indexes.get(key, [])),
            "check constraints": sorted(str(c.get("sqltext")) for c in checked.get(key, [])),
            "rows": rows,
        }
    return tables


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns_of(table: str, columns: dict[Any, Any], like: dict[str, Any] | None) -> list[str]:
    now = [c["name"] for c in columns.get((None, table), [])]
    if like is None or table not in like:
        return now
    return [c for c in now if c in like[table]["columns"]]


def _rows_digest(table: str, columns: list[str]) -> str:
    """SQL for a digest of the table's rows over `columns` (in any order of the rows), their
    count included: md5 per row, so that megabytes of text are hashed, never sent."""
    row = f"md5(row({', '.join(_quoted(c) for c in columns)})::text)" if columns else "''"
    digest = f"md5(coalesce(string_agg({row}, ',' ORDER BY {row}), ''))"
    return f"SELECT count(*) || ':' || {digest} FROM {_quoted(table)}"


_ONE = {"foreign keys": "foreign key", "indexes": "index", "check constraints": "check constraint"}


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    found = []
    for table in sorted(set(before) | set(after)):
        if table not in after:
            found.append(f"table {table} is gone")
        elif table not in before:
            found.append(f"new table {table}")
        else:
            for part, value in before[table].items():
                if after[table][part] != value:
                    if part == "columns":
                        gone = sorted(set(value) - set(after[table][part]))
                        new = sorted(set(after[table][part]) - set(value))
                        changed = sorted(
                            c
                            for c in set(value) & set(after[table][part])
                            if value[c] != after[table][part][c]
                        )
                        found += [f"{table}.{c} removed" for c in gone]
                        found += [f"{table}.{c} added" for c in new]
                        found += [f"{table}.{c} changed" for c in changed]
                    elif isinstance(value, list):
                        gone = [v for v in value if v not in after[table][part]]
                        new = [v for v in after[table][part] if v not in value]
                        one = _ONE.get(part, part)
                        found += [f"{table}: {one} {v} added" for v in new]
                        found += [f"{table}: {one} {v} removed" for v in gone]
                        if not gone and not new:
                            found.append(f"{table}: {part} changed")
                    else:
                        found.append(f"{table}: {part} changed")
    return found


def _database_error(exc: BaseException, step: str) -> Fail:
    message = one_line(exc, 600)
    if "NotNullViolation" in message or "contains null values" in message:
        return Fail(
            f"`alembic {step}` failed: the existing documents have no value for the new NOT NULL column",
            expected="every existing row gets 'draft' when the column appears",
            actual=message,
            help="Postgres adds the column to rows that already exist, with its DEFAULT or else NULL. "
            "A Python-side default= only fills rows SQLAlchemy inserts and never reaches the table: "
            "the default has to live in the table itself (or add the column nullable, fill it, make "
            "it NOT NULL, and give it a default in the table for the rows inserted later)",
        )
    return Fail(
        f"`alembic {step}` failed",
        expected="the migration runs to the end",
        actual=message,
        help="read Postgres's message: it names the table or column it tripped on",
    )


@checks.add("the file is a revision that builds on 4d1f0c2b9a7e")
def revision_ids(ctx: Context) -> None:
    ns = ctx.namespace
    for name in ("upgrade", "downgrade"):
        if not callable(ns.get(name)):
            raise Fail(
                f"the revision has no {name}() function",
                expected="module-level functions upgrade() and downgrade(), taking no arguments",
                actual=f"{name} = {ns.get(name)!r}"[:200],
            )
        # Written by them: what a stand-in (a partial of a builtin) raised would carry no
        # frame of their file and read as the pack's error.
        ctx.require_function(name, f"{name}()")
    revision = ctx.require("revision", "the revision's id", "the id the task gives, assigned to `revision`")
    parent = ctx.require("down_revision", "the parent revision", "down_revision = ...")
    if not isinstance(revision, str) or not revision or revision == BASE:
        raise Fail(
            "the revision id is not a new, unique id",
            expected="the id the task gives (9b3e6a1c5d20)",
            actual=f"revision = {revision!r}",
            help="each revision needs an id of its own: Alembic keys the chain by it",
        )
    if parent is None:
        raise Fail(
            "down_revision is None: this revision claims to be the very first",
            expected=f"down_revision naming {BASE}, the revision yours builds on",
            actual="down_revision = None",
            help="with two revisions that both start from nothing, Alembic sees two heads and "
            "`upgrade head` refuses to pick one. Name the revision yours builds on",
        )
    if parent != BASE and not (type(parent) in (tuple, list) and list(parent) == [BASE]):
        # A one-element tuple (or list) of parents is what Alembic accepts for a merge point too.
        raise Fail(
            "down_revision names a revision that is not the current head",
            expected=f'down_revision naming {BASE}, the current head ("users and documents")',
            actual=f"down_revision = {parent!r}",
            help="Alembic follows down_revision to find the parent; a wrong id breaks the chain "
            '("Revision ... is not present") or forks it',
        )


@checks.add("`alembic upgrade head` runs on the table with rows", requires=[revision_ids])
def upgrade_runs(ctx: Context) -> None:
    if ctx.rows("SELECT to_regclass('alembic_version') IS NOT NULL")[0][0]:
        raise Fail(
            "your file made an alembic_version table before Alembic ran",
            expected="no alembic_version table until Alembic stamps the database itself",
            actual="alembic_version exists: " + _versions_shown(ctx),
            help="leave alembic_version to Alembic: your file is a revision it runs, and the "
            "file's top-level code runs before any migration",
        )
    _state["before"] = _snapshot(ctx)
    _alembic(ctx, "stamp", BASE)
    try:
        _alembic(ctx, "upgrade", "head")
    except DBAPIError as exc:
        raise _database_error(exc, "upgrade head") from None
    except Exception as exc:
        if type(exc).__module__.startswith("alembic"):
            raise Fail("Alembic refused the revision", actual=one_line(exc)) from None
        raise
    revision = ctx.namespace["revision"]
    if _version(ctx) != [revision]:
        raise Fail(
            "after `upgrade head` the database is not at your revision",
            expected=revision,
            actual=", ".join(_version(ctx)) or "no version",
        )


@checks.add(
    "documents.status is varchar(20), NOT NULL, 'draft' for old rows and new ones", requires=[upgrade_runs]
)
def column_added(ctx: Context) -> None:
    inspector = sa_inspect(ctx.truth)
    names = inspector.get_table_names()
    if "documents" not in names:
        raise Fail(
            "after the upgrade there is no documents table",
            expected="documents, with a status column",
            actual=", ".join(sorted(n for n in names if n != "alembic_version")) or "no tables",
            help="the revision adds a column; other code still queries documents by that name",
        )
    columns = {c["name"]: c for c in inspector.get_columns("documents")}
    status = columns.get("status")
    if status is None:
        raise Fail(
            "after the upgrade, documents has no status column",
            expected="status",
            actual=", ".join(columns),
            help="op.add_column on the documents table",
        )
    if getattr(status["type"], "length", None) != 20 or "CHAR" not in str(status["type"]).upper():
        raise Fail(
            "documents.status is not text of at most 20 characters",
            expected="VARCHAR(20)",
            actual=str(status["type"]),
            help="a length limit is part of the column's type in Postgres; text has none",
        )
    if status["nullable"]:
        raise Fail(
            "documents.status accepts NULL, but the task says required",
            expected="NOT NULL",
            actual="NULL allowed",
            help="nullable=False (and then the existing rows need a value: see the next hint)",
        )
    values = sorted({r[0] for r in ctx.rows("SELECT status FROM documents")})
    if values != ["draft"]:
        raise Fail(
            "the existing documents did not all get 'draft'",
            expected="draft",
            actual=", ".join(map(str, values)),
        )
    try:
        with ctx.truth.begin() as conn:
            got = conn.execute(
                text("INSERT INTO documents (title, body, owner_id) VALUES ('New', 'x', 1) RETURNING status")
            ).scalar_one()
            conn.rollback()
    except DBAPIError as exc:
        raise Fail(
            "a document inserted without a status is refused",
            expected="status 'draft' for rows that leave it out",
            actual=one_line(exc),
            help="other code inserts documents without knowing about status: the table itself needs a "
            "DEFAULT that stays after the upgrade, not only a value for the existing rows",
        ) from None
    if got != "draft":
        raise Fail("a new document without a status does not get 'draft'", expected="draft", actual=repr(got))


@checks.add("nothing else changed: other tables, other columns, the rows", requires=[upgrade_runs])
def nothing_else(ctx: Context) -> None:
    after = _snapshot(ctx, like=_state["before"])
    documents = after.get("documents", {})  # a gone table is a change too
    documents.get("columns", {}).pop("status", None)
    # A CHECK on the new column alone is part of that column (status IN (...), say).
    old_columns = set(_state["before"].get("documents", {}).get("columns", {}))
    documents["check constraints"] = [
        c
        for c in documents.get("check constraints", [])
        if set(_IDENTIFIER.findall(c)) & old_columns or "status" not in c
    ]
    # So is an index of it alone (index=True on the column, or op.create_index on it).
    documents["indexes"] = [i for i in documents.get("indexes", []) if i != str(["status"])]
    changes = _differences(_state["before"], after)
    if changes:
        raise Fail(
            "the migration changed more than documents.status",
            expected="only documents.status added",
            actual="; ".join(changes)[:600],
            help="a revision does one thing; anything else it touches is a surprise for whoever runs it",
        )


@checks.add("`alembic downgrade -1` returns documents to what it was", requires=[upgrade_runs])
def downgrade_runs(ctx: Context) -> None:
    try:
        _alembic(ctx, "downgrade", "-1")
    except DBAPIError as exc:
        raise _database_error(exc, "downgrade -1") from None
    if _version(ctx) != [BASE]:
        raise Fail(
            "after `downgrade -1` the database is not at 4d1f0c2b9a7e", actual=", ".join(_version(ctx))
        )
    changes = _differences(_state["before"], _snapshot(ctx, like=_state["before"]))
    if changes:
        left = "documents.status added" in changes
        # A column removed ("documents.title removed"), not a constraint or index ("users: ...").
        removed = any(c.endswith(" removed") and ": " not in c for c in changes)
        raise Fail(
            "downgrade() removed a column upgrade never added, and left status behind"
            if left and removed
            else "downgrade() left the column behind"
            if left
            else "downgrade() did not restore the schema",
            expected="documents exactly as before the upgrade",
            actual="; ".join(changes)[:600],
            help="downgrade is upgrade in reverse: remove the column upgrade added, and nothing else"
            if left
            else "drop only what upgrade added; everything else has to survive the round trip",
        )


@checks.add("`alembic upgrade head` works again after the downgrade", requires=[downgrade_runs])
def upgrade_again(ctx: Context) -> None:
    try:
        _alembic(ctx, "upgrade", "head")
    except DBAPIError as exc:
        raise Fail(
            "a second `upgrade head` after the downgrade fails",
            expected="upgrade, downgrade, upgrade: each step works",
            actual=one_line(exc),
            help="downgrade must remove everything upgrade created (a type, an index, a constraint), or "
            "the next upgrade trips over the leftovers",
        ) from None
