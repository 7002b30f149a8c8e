"""Every built-in pack is sound: `drill validate` is clean on it (solutions pass, starters fail,
every known answer behaves as its header says, no giveaways), plus invariants of the packs'
own conventions. Counts come from the packs, never from this file."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest

from drillkit.pack.catalog import builtin_sources, load_source
from drillkit.pack.model import ANSWER_MARKER, Pack
from drillkit.pack.text import starter_text
from drillkit.pack.validate import Case, CaseResult, cases, check_format, validate

REPO = Path(__file__).resolve().parent.parent
PACKS = [load_source(s, None) for s in builtin_sources()]
DRILLS = [d for p in PACKS for d in p.drills]
GIVEN = "# --- given:"


def test_there_is_a_default_pack_with_drills() -> None:
    assert PACKS and all(p.drills for p in PACKS)
    assert [p.id for p in PACKS] == [s.id for s in builtin_sources()]
    for pack in PACKS:
        assert [d.number for d in pack.drills] == list(range(1, len(pack.drills) + 1))


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_format_is_clean(pack: Pack) -> None:
    loaded, findings = check_format(pack.root)
    assert loaded is not None and findings == [], [str(f) for f in findings]


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_validate_is_clean_against_postgres(pack: Pack, drill_home: Path, monkeypatch) -> None:
    """The whole behaviour: each solution, starter and known answer, through the real runner."""
    from drillkit.commands.validate import validate_pack
    from drillkit.paths import resolve_paths

    monkeypatch.setenv("DRILL_HOME", str(drill_home))
    seen: list[CaseResult] = []
    result = validate_pack(resolve_paths(), str(pack.root), progress=seen.append)
    bad = [f"{r.case.drill.slug}/{r.case.file.name}: {r.detail}" for r in result.results if not r.ok]
    assert result.findings == [] and bad == [], [str(f) for f in result.findings] + bad
    todo, _ = cases(pack)
    assert len(result.results) == len(todo) == len(seen)
    # What a file never wrote is not "your code printed": no driver's or drillkit's own noise.
    silent = re.compile(r"print\(|logging|sys\.std|echo|os\.write|faulthandler|traceback")
    noisy = [
        f"{r.case.drill.slug}/{r.case.file.name}: {r.report.output[:200]!r}"
        for r in result.results
        if r.report and r.report.output and not silent.search(r.case.file.read_text(encoding="utf-8"))
    ]
    assert noisy == []
    for drill in pack.drills:  # every drill: its solution, its starter, and real known answers
        kinds = [
            r.case.expect.passes
            for r in result.results
            if r.case.drill.slug == drill.slug and r.case.kind == "answer"
        ]
        assert kinds.count(False) >= 4, f"{drill.slug}: fewer than 4 known wrong answers"
        assert kinds.count(True) >= 3, f"{drill.slug}: fewer than 3 differently-written correct answers"


@pytest.mark.parametrize("drill", DRILLS, ids=lambda d: d.ref)
def test_starters_import_only_stdlib_sqlalchemy_and_sandbox(drill) -> None:
    tree = ast.parse(starter_text(drill))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in {"sqlalchemy", "drillkit", "alembic"}, name
            if top == "drillkit":
                assert name == "drillkit.sandbox", name


@pytest.mark.parametrize("drill", DRILLS, ids=lambda d: d.ref)
def test_starter_and_solution_share_everything_above_the_answer(drill) -> None:
    """What a learner is given is exactly what the reference solution builds on."""
    starter = drill.starter_path.read_text(encoding="utf-8")
    solution = drill.solution_path.read_text(encoding="utf-8")
    assert ANSWER_MARKER in starter and ANSWER_MARKER in solution
    assert starter.split(ANSWER_MARKER)[0] == solution.split(ANSWER_MARKER)[0]


def _given_block(path: Path) -> str | None:
    text = path.read_text(encoding="utf-8")
    if GIVEN not in text:
        return None
    return text[: text.index(ANSWER_MARKER)]


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_given_models_match_the_fixture_tables(pack: Pack, drill_home: Path) -> None:
    """The models a starter gives (its `# --- given:` block) create the same tables, columns,
    types, nullability, keys and constraints as the fixture the drill runs on: compared in
    Postgres, not as text."""
    import psycopg

    from drillkit.check.database import DatabaseView
    from drillkit.db import server
    from drillkit.paths import resolve_paths
    from drillkit.run.space import fixture_sql

    db = server.resolve(resolve_paths(env={"DRILL_HOME": str(drill_home)}))
    compared = 0
    for drill in pack.drills:
        given = _given_block(drill.starter_path)
        if given is None or drill.fixture.sql is None:
            continue
        from sqlalchemy import create_engine

        module = types.ModuleType(f"given_{drill.slug}")  # SQLAlchemy resolves annotations through it
        sys.modules[module.__name__] = module
        code = re.sub(r"^from drillkit\.sandbox import .*$", "", given, flags=re.M)
        exec(compile(code, module.__name__, "exec"), module.__dict__)
        metadata = next(
            v.metadata
            for v in module.__dict__.values()
            if isinstance(v, type) and v.__module__ == module.__name__ and hasattr(v, "registry")
        )
        with psycopg.connect(db.libpq_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS t_given CASCADE; DROP SCHEMA IF EXISTS t_fixture CASCADE;")
            conn.execute("CREATE SCHEMA t_given; CREATE SCHEMA t_fixture;")
            try:
                seed = fixture_sql(drill.fixture.sql)
                conn.execute(f"SET search_path TO t_fixture; {seed} RESET search_path;".encode())
                engine = create_engine(
                    server.sqlalchemy_url(db.libpq_url), connect_args={"options": "-c search_path=t_given"}
                )
                metadata.create_all(engine)
                engine.dispose()
                given_view, fixture_view = DatabaseView(conn, "t_given"), DatabaseView(conn, "t_fixture")
                tables = given_view.tables()
                assert tables and set(tables) <= set(fixture_view.tables()), drill.slug
                for table in tables:

                    def shape(view: DatabaseView, t: str = table) -> tuple:
                        cols = {n: (c.type, c.nullable, c.numbered) for n, c in view.columns(t).items()}
                        uniques = sorted(map(tuple, view.unique_column_sets(t)))
                        return cols, view.primary_key(t), sorted(view.foreign_keys(t), key=str), uniques

                    assert shape(given_view) == shape(fixture_view), f"{drill.ref}: {table}"
                compared += 1
            finally:
                conn.execute(
                    "DROP SCHEMA IF EXISTS t_given CASCADE; DROP SCHEMA IF EXISTS t_fixture CASCADE;"
                )
    assert compared or not any(_given_block(d.starter_path) for d in pack.drills)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_flashcards_and_selfcheck_point_at_real_drills(pack: Pack) -> None:
    deck = pack.deck
    assert deck.cards and deck.skills
    assert all(c.front.strip() and c.back.strip() for c in deck.cards)
    slugs = {d.slug for d in pack.drills}
    for skill in deck.skills:
        assert set(skill.drills) <= slugs, skill.id
        assert skill.text.strip() and skill.label
    covered = {s for skill in deck.skills for s in skill.drills}
    assert covered == slugs, "every drill backs some self-check item"


def test_the_engine_names_no_pack() -> None:
    """After the packs work, nothing under drillkit/ knows the built-in pack's tables, models or
    drill count (docstrings showing an example excepted)."""
    words = re.compile(r"\b(users|documents|owner_id|User|Document)\b")
    offenders = []
    for path in sorted((REPO / "drillkit").rglob("*.py")):
        where = path.relative_to(REPO)
        nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))  # walked once, read four times
        docstrings = {
            id(n.body[0].value)
            for n in nodes
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        # A 7 that counts drills is compared with, or bounds a range (an index or an interval is fine).
        counting = {id(c) for n in nodes if isinstance(n, ast.Compare) for c in [n.left, *n.comparators]}
        counting |= {
            id(a)
            for n in nodes
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "range"
            for a in n.args
        }
        for node in nodes:
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if words.search(node.value):
                    offenders.append(f"{where}:{node.lineno}: {node.value[:60]!r}")
            elif (
                isinstance(node, ast.Constant)
                and type(node.value) is int
                and node.value == 7
                and id(node) in counting
            ):
                offenders.append(f"{where}:{node.lineno}: the number 7")
            elif isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if words.fullmatch(name):
                    offenders.append(f"{where}:{node.lineno}: name {name}")
    assert offenders == []


def test_validate_runs_each_case_kind(tmp_path: Path) -> None:
    """`validate` with a fake runner: solutions must pass, starters fail, answers as labelled."""
    from drillkit.results import CheckReport, CheckResult

    pack = PACKS[0]

    def fake(case: Case) -> CheckReport:
        status = "passed" if case.kind == "starter" else "failed"  # everything backwards
        return CheckReport(1, "x", "x", str(case.file), [CheckResult("a check", status)])

    result = validate(pack.root, fake, only=pack.drills[0].slug)
    kinds = {r.case.kind: r.ok for r in result.results}
    assert kinds == {"solution": False, "starter": False, "answer": False} or not result.clean
    assert not result.clean


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_mutation_score_of_every_drill(pack: Pack, drill_home: Path, monkeypatch) -> None:
    """`drill validate --mutants`: the checks catch at least 95 % of the wrong answers derived
    from each reference solution (issue 15's bar), and no mark of an equivalent mutant is stale."""
    from drillkit.commands.validate import mutation_report
    from drillkit.paths import resolve_paths

    monkeypatch.setenv("DRILL_HOME", str(drill_home))
    _, report = mutation_report(resolve_paths(), str(pack.root))
    assert [d.drill for d in report.drills] == [d.slug for d in pack.drills]
    assert [(d.drill, d.reference_fails) for d in report.drills if d.reference_fails] == []
    weak = {
        d.drill: [r.mutant.id for r in d.survivors]
        for d in report.drills
        if d.score is not None and d.score < 0.95
    }
    assert weak == {}
    assert [(d.drill, d.unknown_equivalent) for d in report.drills if d.unknown_equivalent] == []
    assert [
        (d.drill, [r.mutant.id for r in d.equivalent_killed]) for d in report.drills if d.equivalent_killed
    ] == []


def test_the_sqlalchemy_pack_s_seed_constants_are_what_its_fixture_seeds(drill_home: Path) -> None:
    """Its checks compare rows with SEED_* in common.py (drill 6: nothing else changed); a
    fixture edited without them would fail right answers."""
    import sys

    import psycopg

    from drillkit.check.loader import load_checks, package_name
    from drillkit.db import server
    from drillkit.paths import resolve_paths
    from drillkit.run.space import fixture_sql

    pack = next(p for p in PACKS if p.id == "sqlalchemy")
    drill = pack.get("update")
    load_checks(pack.id, pack.root, drill.slug)  # imports the pack's common module
    common = sys.modules[f"{package_name(pack.id)}.common"]
    db = server.resolve(resolve_paths(env={"DRILL_HOME": str(drill_home)}))
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS t_seed CASCADE; CREATE SCHEMA t_seed")
        try:
            assert drill.fixture.sql is not None
            conn.execute(f"SET search_path TO t_seed; {fixture_sql(drill.fixture.sql)}".encode())
            documents = conn.execute(
                "SELECT id, title, body, owner_id, created_at FROM documents ORDER BY id"
            )
            rows = documents.fetchall()
            assert tuple(r[:4] for r in rows) == common.SEED_DOCUMENTS
            assert {r[0]: r[4] for r in rows} == common.SEED_CREATED_AT
            assert (
                tuple(conn.execute("SELECT id, email FROM users ORDER BY id").fetchall()) == common.SEED_USERS
            )
            # seed_changes reads TEXT_READ characters of each text: enough for every seeded one.
            texts = [t for r in common.SEED_DOCUMENTS for t in r[1:3]] + [e for _, e in common.SEED_USERS]
            assert max(map(len, texts)) < common.TEXT_READ
        finally:
            conn.execute("RESET search_path; DROP SCHEMA IF EXISTS t_seed CASCADE")


ODD_SCHEMA = '''
CREATE TABLE users (id serial PRIMARY KEY, email varchar(255) UNIQUE NOT NULL);
CREATE TABLE documents (id serial PRIMARY KEY, title text NOT NULL, owner_id int REFERENCES users (id),
                        status varchar(20) NOT NULL DEFAULT 'draft');
CREATE INDEX ix_documents_owner ON documents (owner_id);
CREATE TABLE "status log: ""100%""" (id int PRIMARY KEY, note text);
CREATE TABLE keyless (a int, b text);
CREATE TABLE nothing ();
CREATE TABLE pair (a int, b int, c text UNIQUE CHECK (c <> ''), PRIMARY KEY (a, b));
CREATE TABLE parted (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (10);
CREATE VIEW recent AS SELECT id FROM documents;
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');
INSERT INTO documents (title, owner_id) VALUES ('t', 1);
INSERT INTO keyless VALUES (1, 'x'), (2, 'y'), (3, 'z');
INSERT INTO parted VALUES (1, 5);
'''


def test_the_migration_drill_s_snapshot_reads_each_table_as_a_per_table_reading_does(
    drill_home: Path, monkeypatch
) -> None:
    """practice:migration compares the schema before and after the learner's revision with a
    snapshot that reads the catalogs for all tables at once. The oracle is SQLAlchemy's
    per-table inspection, on a schema a hostile revision could leave: a name with a quote, a
    colon and a percent sign, a table without a key, one without columns, a composite key,
    keys between tables, a CHECK, a partitioned table and a view; the rows (a digest, computed
    here in Python) split over queries. A column added later is no change of the rows when
    the snapshot reads them like an earlier one, and an edited value is."""
    import hashlib

    import psycopg
    from psycopg import sql
    from sqlalchemy import create_engine
    from sqlalchemy import inspect as sa_inspect

    from drillkit.check.loader import load_checks, package_name
    from drillkit.check.plain import CheckConnection
    from drillkit.db import server
    from drillkit.paths import resolve_paths

    pack = next(p for p in PACKS if p.id == "practice")
    drill = pack.get("migration")
    load_checks(pack.id, pack.root, drill.slug)
    checks = sys.modules[f"{package_name(pack.id)}.{drill.slug}.checks"]
    monkeypatch.setattr(checks, "COUNTS_PER_QUERY", 2)  # several count queries for these tables
    db = server.resolve(resolve_paths(env={"DRILL_HOME": str(drill_home)}))
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS t_snapshot CASCADE; CREATE SCHEMA t_snapshot")
        engine = create_engine(
            "postgresql+psycopg://" + db.libpq_url.split("://", 1)[1],
            connect_args={"options": "-c search_path=t_snapshot"},
        )
        plain = CheckConnection(db.libpq_url, "t_snapshot")
        try:
            conn.execute(f"SET search_path TO t_snapshot; {ODD_SCHEMA}".encode())
            ctx = types.SimpleNamespace(truth=engine, rows=lambda q, **p: plain.run(q, p, fetch=True))
            inspector = sa_inspect(engine)
            expected = {}

            def digest(table: str, columns: list[str]) -> str:
                if columns:
                    fields = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
                    query = sql.SQL("SELECT row({})::text FROM t_snapshot.{}").format(
                        fields, sql.Identifier(table)
                    )
                    rows = [hashlib.md5(r[0].encode()).hexdigest() for r in conn.execute(query)]
                else:
                    query = sql.SQL("SELECT count(*) FROM t_snapshot.{}").format(sql.Identifier(table))
                    rows = [""] * conn.execute(query).fetchone()[0]
                return f"{len(rows)}:{hashlib.md5(','.join(sorted(rows)).encode()).hexdigest()}"

            for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
                columns = [c["name"] for c in inspector.get_columns(table)]
                expected[table] = {
                    "columns": {
                        c["name"]: f"{c['type']} {'NULL' if c['nullable'] else 'NOT NULL'} "
                        f"default={c.get('default')}"
                        for c in inspector.get_columns(table)
                    },
                    "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                    "foreign keys": sorted(
                        str(fk["constrained_columns"]) + fk["referred_table"]
                        for fk in inspector.get_foreign_keys(table)
                    ),
                    "unique": sorted(str(u["column_names"]) for u in inspector.get_unique_constraints(table)),
                    "indexes": sorted(str(i["column_names"]) for i in inspector.get_indexes(table)),
                    "check constraints": sorted(
                        str(c.get("sqltext")) for c in inspector.get_check_constraints(table)
                    ),
                    "rows": digest(table, columns),
                }
            assert 'status log: "100%"' in expected and expected["keyless"]["rows"].startswith("3:")
            assert expected["pair"]["check constraints"] != []
            first = checks._snapshot(ctx)
            assert first == expected
            conn.execute("ALTER TABLE keyless ADD COLUMN added int NOT NULL DEFAULT 7")
            assert checks._snapshot(ctx, like=first)["keyless"]["rows"] == first["keyless"]["rows"]
            assert checks._snapshot(ctx)["keyless"]["rows"] != first["keyless"]["rows"]
            conn.execute("UPDATE keyless SET b = upper(b)")
            assert checks._snapshot(ctx, like=first)["keyless"]["rows"] != first["keyless"]["rows"]
        finally:
            engine.dispose()
            if plain._conn is not None:
                plain._conn.close()
            conn.execute("RESET search_path; DROP SCHEMA IF EXISTS t_snapshot CASCADE")


@pytest.mark.parametrize(
    ("label", "ok"),
    [("is_oldest", True), ("OLDEST BOOK", True), ("newest", False), ("is_olde", False)],
)
def test_a_known_answer_names_its_check_by_key_or_by_words_of_its_name(label: str, ok: bool) -> None:
    from drillkit.pack.validate import Expectation, judge
    from drillkit.results import CheckReport, CheckResult

    drill = PACKS[0].drills[0]
    case = Case(drill, "answer", drill.solution_path, Expectation(False, check=label))
    failed = CheckResult("it is the oldest book", "failed", rationale="a newer one", key="is_oldest")
    report = CheckReport(1, "x", "x", "x", [CheckResult("runs", "passed", key="runs"), failed])
    good, detail = judge(case, report)
    assert good is ok, detail
    if not ok:
        assert "«it is the oldest book» (is_oldest) did" in detail


@pytest.mark.parametrize(
    ("passing", "verdict"),
    [
        ((), "fails at «it is the oldest book»"),
        (("shelved",), "fails at «it is the oldest book»"),
        (("ON THE SHELF",), "fails at «it is the oldest book»"),
        (("counted",), "«every book is counted» should pass on this answer, but it failed: one too many"),
        (("loaned",), "fails at «it is the oldest book»"),  # names no check: the format stage says so
    ],
)
def test_a_passes_header_keeps_other_checks_from_blaming_a_wrong_answer(passing: tuple, verdict: str) -> None:
    """`# passes:` pins checks that must not fail on a wrong answer (drill 6 once blamed a
    missing commit on "other rows were changed")."""
    from drillkit.pack.validate import Expectation, judge
    from drillkit.results import CheckReport, CheckResult

    drill = PACKS[0].drills[0]
    case = Case(drill, "answer", drill.solution_path, Expectation(False, check="is_oldest", passing=passing))
    results = [
        CheckResult("it is the oldest book", "failed", rationale="a newer one", key="is_oldest"),
        CheckResult("it is still on the shelf", "passed", key="shelved"),
        CheckResult("every book is counted", "failed", rationale="one too many", key="counted"),
    ]
    good, detail = judge(case, CheckReport(1, "x", "x", "x", results))
    assert (good, detail) == (verdict.startswith("fails at"), verdict)


def test_read_expectation_takes_one_passes_line_per_check(tmp_path: Path) -> None:
    from drillkit.pack.validate import Expectation, read_expectation

    answer = tmp_path / "fail_x.py"
    answer.write_text(
        "# expect: fail\n# check: a\n# passes: b, with a comma\n# passes: c\nimport os\n# passes: d\n",
        encoding="utf-8",
    )
    assert read_expectation(answer) == Expectation(False, "a", None, ("b, with a comma", "c"))
