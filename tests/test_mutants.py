"""Mutation testing of the checks: the mutant generator, the score, and a real drill end to end."""

from __future__ import annotations

import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from drillkit.checkserver.batch import BatchChecker
from drillkit.db import control
from drillkit.pack.model import Drill
from drillkit.pack.mutants import MARKER, Mutant, answer_start_line, generate
from drillkit.pack.mutation_score import (
    DrillScore,
    MutationReport,
    Outcome,
    mutate_and_score,
    outcome_of,
    score,
)
from drillkit.paths import resolve_paths
from drillkit.results import FIRST_CHECK, CheckReport, CheckResult
from drillkit.run.runner import check_file
from drillkit.run.service import CheckService
from tests.conftest import builtin_pack

REPO = Path(__file__).resolve().parent.parent
GIVEN = "from sqlalchemy import select\n\n"


def source_of(answer: str, given: str = GIVEN) -> str:
    return f"{given}{MARKER} ---\n{textwrap.dedent(answer).lstrip()}"


def mutants_of(answer: str, given: str = GIVEN) -> dict[str, Mutant]:
    mutants = list(generate(source_of(answer, given)))
    by_id = {m.id: m for m in mutants}
    assert len(by_id) == len(mutants), "ids are unique"
    return by_id


def answer(mutant: Mutant) -> str:
    """The mutated answer part, without the given part."""
    return mutant.source.split(MARKER, 1)[1].split("\n", 1)[1]


# --- operators -------------------------------------------------------------------------


def test_drop_call_from_a_chain():
    got = mutants_of(
        "stmt = select(D).where(D.a == 1).order_by(D.b.desc())\ndocs = session.scalars(stmt).all()\n"
    )
    assert answer(got["drop-call:where@stmt"]).startswith("stmt = select(D).order_by(D.b.desc())\n")
    assert answer(got["drop-call:order_by@stmt"]).startswith("stmt = select(D).where(D.a == 1)\n")
    assert answer(got["drop-call:desc@stmt"]).startswith("stmt = select(D).where(D.a == 1).order_by(D.b)\n")
    assert answer(got["drop-call:all@docs"]).endswith("docs = session.scalars(stmt)\n")
    # `session.scalars(...)` is a method call, not a chain: dropping it would leave `session`.
    assert not [i for i in got if i.startswith("drop-call:scalars")]


def test_drop_call_keeps_the_layout_of_a_multiline_chain():
    got = mutants_of(
        """
        stmt = (
            select(D)
            .where(D.a == 1)  # filter
            .order_by(D.b)
        )
        """
    )
    assert answer(got["drop-call:where@stmt"]) == "stmt = (\n    select(D)  # filter\n    .order_by(D.b)\n)\n"


def test_drop_arg_that_is_a_call_and_drop_options():
    got = mutants_of("user = session.scalars(select(U).options(selectinload(U.docs))).one()\n")
    assert "select(U).options()" in answer(got["drop-arg:selectinload@user"])
    assert "session.scalars(select(U)).one()" in answer(got["drop-call:options@user"])


def test_drop_kwarg_takes_its_comma_along():
    got = mutants_of(
        """
        class User(Base):
            email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
        """
    )
    assert "mapped_column(String(255), index=True)" in answer(got["drop-kwarg:unique@User.email"])
    assert "mapped_column(String(255), unique=True)\n" in answer(got["drop-kwarg:index@User.email"])
    assert "mapped_column(unique=True, index=True)" in answer(got["drop-arg:String@User.email"])
    # `unique=True` -> `unique=False` would only repeat drop-kwarg (False is the default).
    assert not [i for i in got if i.startswith("flip-literal")]


def test_delete_statements_become_pass():
    got = mutants_of(
        """
        doc = Document(title="x")
        session.add(doc)
        session.commit()  # the INSERT
        session.refresh(doc)
        doc.title = "y"
        """
    )
    assert "\npass\n" in answer(got["delete-stmt:session.commit"])
    assert "# the INSERT" not in answer(got["delete-stmt:session.commit"]), "its comment goes too"
    assert "session.refresh" not in answer(got["delete-stmt:session.refresh"])
    assert answer(got["delete-stmt:doc.title="]).endswith("session.refresh(doc)\npass\n")
    # Deleting `doc = ...` only makes a NameError: name assignments are not deleted.
    assert not [i for i in got if i.startswith("delete-stmt:doc@") or i == "delete-stmt:doc"]


def test_finally_body_and_yield():
    got = mutants_of(
        """
        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()  # back to the pool
        """
    )
    assert answer(got["empty-body:finally@get_db"]).endswith("    finally:\n        pass\n")
    assert "        return db\n" in answer(got["yield-return:db@get_db"])
    # Deleting the one statement of the finally body is the same mutant: kept once.
    assert "delete-stmt:db.close@get_db" not in got


def test_flip_operators():
    got = mutants_of(
        """
        a = x == 1
        b = x < 2
        c = x is not None
        d = x not in y and z
        e = x + 1
        f = not x
        """
    )
    assert answer(got["flip-compare:==@a"]).startswith("a = x != 1\n")
    assert "b = x >= 2\n" in answer(got["flip-compare:<@b"])
    assert "c = x is None\n" in answer(got["flip-compare:is not@c"])
    assert "d = x in y and z\n" in answer(got["flip-compare:not in@d"])
    assert "d = x not in y or z\n" in answer(got["flip-bool:and@d"])
    assert "e = x - 1\n" in answer(got["flip-arith:+@e"])
    assert "f = x\n" in answer(got["drop-not:x@f"])


def test_desc_asc_and_sibling_methods():
    got = mutants_of(
        """
        a = select(D).order_by(D.b.desc())
        b = select(D).order_by(asc(D.b))
        docs = session.scalars(a).all()
        rows = session.execute(b).all()
        session.commit()
        """
    )
    assert "order_by(D.b.asc())" in answer(got["flip-order:desc->asc@a"])
    assert "order_by(desc(D.b))" in answer(got["flip-order:asc->desc@b"])
    assert "docs = session.execute(a).all()" in answer(got["swap-method:scalars->execute@docs"])
    assert "rows = session.scalars(b).all()" in answer(got["swap-method:execute->scalars@rows"])
    assert answer(got["swap-method:commit->flush"]).endswith("session.flush()\n")


def test_change_literals():
    got = mutants_of(
        """
        class Document(Base):
            title: Mapped[str] = mapped_column(String(200), nullable=False)
        doc = Document(title="Q2 Report")
        stmt = select(Document).where(Document.id == 5)
        """
    )
    assert "String(201)" in answer(got["change-number:200@Document.title"])
    assert 'Document(title="Q2 Report_mut")' in answer(got["change-str:q2_report@doc"])
    assert "Document.id == 6" in answer(got["change-number:5@stmt"])
    assert "nullable=True" in answer(got["flip-literal:False@Document.title"])


def test_annotations_are_dropped_or_made_optional_but_never_edited_inside():
    got = mutants_of(
        """
        class Document(Base):
            id: Mapped[int] = mapped_column(primary_key=True)
            body: Mapped[str]
            owner: Mapped["User"] = relationship(back_populates="documents")
        """
    )
    assert "    id = mapped_column(primary_key=True)\n" in answer(got["drop-annotation:id@Document"])
    assert "    body: Mapped[str | None]\n" in answer(got["make-optional:body@Document"])
    assert "make-optional:id@Document" not in got, "a primary key is NOT NULL anyway: equivalent"
    assert "make-optional:owner@Document" not in got
    # The forward reference "User" is an annotation: no change-str for it.
    assert [i for i in got if i.startswith("change-str")] == ["change-str:documents@Document.owner"]


def test_docstrings_are_not_mutated():
    got = mutants_of('def f():\n    """Return 1."""\n    return 1\n')
    assert set(got) == {"delete-stmt:return@f", "change-number:1@f"}


def test_only_the_answer_is_mutated():
    given = "from x import y\n\nLIMIT = 10\nassert LIMIT == 10\nprint(LIMIT + 1)\n\n"
    source = source_of("stmt = select(D).limit(3)\nprint(stmt)\n", given)
    mutants = list(generate(source))
    assert mutants
    head = source.split(MARKER)[0]
    for mutant in mutants:
        assert mutant.source.startswith(head), mutant.id
        assert mutant.line > answer_start_line(source)


def test_without_a_marker_the_whole_file_is_the_answer():
    assert answer_start_line("x = 1\n") == 0
    assert [m.id for m in generate("x = 1 == 2\n")] == [
        "change-number:1@x",  # in source order
        "flip-compare:==@x",
        "change-number:2@x",
    ]


def test_ids_are_stable_and_name_what_not_where():
    answer_text = """
        class User(Base):
            id: Mapped[int] = mapped_column(primary_key=True)
        class Document(Base):
            id: Mapped[int] = mapped_column(primary_key=True)
        docs = session.scalars(select(Document).where(Document.id == 1).where(Document.id == 1)).all()
        """
    first = [m.id for m in generate(source_of(answer_text))]
    assert first == [m.id for m in generate(source_of(answer_text))]
    # More lines in the given part move every line number, but no id.
    moved = [m.id for m in generate(source_of(answer_text, GIVEN + "import os\nimport sys\n\n\n"))]
    assert moved == first
    assert "drop-kwarg:primary_key@User.id" in first and "drop-kwarg:primary_key@Document.id" in first
    # The same edit twice in one scope: numbered in source order.
    assert "flip-compare:==@docs" in first and "flip-compare:==@docs#2" in first


def test_mutants_that_do_not_compile_are_skipped():
    # `return 1` in an async generator is a SyntaxError: yield-return cannot apply here.
    got = mutants_of("async def gen():\n    yield 1\n    yield 2\n")
    assert not [i for i in got if i.startswith("yield-return")]
    assert "change-number:1@gen" in got
    for mutant in got.values():
        compile(mutant.source, "m.py", "exec")


def test_no_two_mutants_are_the_same_text_nor_the_reference():
    for path in sorted((REPO / "solutions").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        sources = [m.source for m in generate(text)]
        assert sources, path.name
        assert len(set(sources)) == len(sources), path.name
        assert text not in sources


def test_diff_and_line_show_the_edit():
    source = source_of("x = 1\ndocs = session.scalars(stmt).all()\n")
    (mutant,) = [m for m in generate(source) if m.id == "swap-method:scalars->execute@docs"]
    assert mutant.line == source.splitlines().index("docs = session.scalars(stmt).all()") + 1
    assert "-docs = session.scalars(stmt).all()\n+docs = session.execute(stmt).all()\n" in mutant.diff
    assert mutant.diff.startswith("--- a/solution.py\n+++ b/solution.py\n")


def test_columns_count_characters_not_bytes():
    got = mutants_of('doc = Document(title="Café crème", n=1)\n')
    assert answer(got["change-number:1@doc"]) == 'doc = Document(title="Café crème", n=2)\n'
    assert answer(got["drop-kwarg:n@doc"]) == 'doc = Document(title="Café crème")\n'


def test_positions_survive_line_breaks_python_does_not_count():
    # str.splitlines() breaks at U+2028 and form feeds; Python's line numbers do not.
    got = mutants_of('note = "a\u2028b"  # \f\nn = 1\n')
    assert answer(got["change-number:1@n"]) == 'note = "a\u2028b"  # \f\nn = 2\n'
    assert got["change-number:1@n"].line == 5


# --- scoring ---------------------------------------------------------------------------


def fake_mutants(*ids: str) -> list[Mutant]:
    return [
        Mutant(i, i.split(":")[0], f"edit {i}", n + 1, f"# {i}\n", f"diff {i}") for n, i in enumerate(ids)
    ]


def run_by_id(outcomes: dict[str, Outcome]) -> Callable[[str], Outcome]:
    return lambda source: outcomes[source[2:-1]]


def test_score_counts_killed_over_mutants_minus_equivalent():
    outcomes = {
        "a": Outcome("killed", "check one"),
        "b": Outcome("crashed", FIRST_CHECK),
        "c": Outcome("timeout", FIRST_CHECK),
        "d": Outcome("survived"),
        "e": Outcome("survived"),
        "f": Outcome("killed", "check two"),
    }
    result = score(
        fake_mutants(*outcomes),
        run_by_id(outcomes),
        equivalent={"e": "still correct", "f": "also correct", "gone": "was removed"},
        workers=3,
        drill="select",
    )
    assert (result.mutants, result.equivalent, result.killed) == (6, 2, 3)
    assert result.score == pytest.approx(3 / 4)  # a, b, c killed of a, b, c, d
    assert [r.mutant.id for r in result.survivors] == ["d"]
    assert [r.mutant.id for r in result.equivalent_killed] == ["f"], "a check rejects a correct answer"
    assert result.unknown_equivalent == ("gone",)
    assert [r.mutant.id for r in result.results] == list(outcomes), "results keep the mutants' order"
    data = result.to_json()
    assert data["score"] == 0.75 and data["survived"] == 1 and data["equivalent"] == 2
    assert data["survivors"] == [
        {
            "id": "d",
            "operator": "d",
            "description": "edit d",
            "line": 4,
            "status": "survived",
            "check": None,
            "equivalent": None,
            "diff": "diff d",
        }
    ]


def test_report_totals_over_drills():
    one = score(fake_mutants("a", "b"), run_by_id({"a": Outcome("killed", "x"), "b": Outcome("survived")}))
    two = score(fake_mutants("c"), run_by_id({"c": Outcome("killed", "y")}), equivalent={})
    empty = score([], run_by_id({}))
    assert empty.score is None and empty.mutants == 0
    report = MutationReport((one, two, empty))
    assert (report.mutants, report.killed, report.survived) == (3, 2, 1)
    assert report.score == pytest.approx(2 / 3)
    assert [d["score"] for d in report.to_json()["drills"]] == [0.5, 1.0, None]


def test_the_threshold_holds_for_every_drill_and_a_failing_reference_fails_it():
    """The pack's total may clear the threshold while one drill is under it: that fails (the
    guide's promise), and so does a drill whose reference solution fails its own checks."""
    killed = {f"k{i}": Outcome("killed", "x") for i in range(19)}
    strong = score(fake_mutants(*killed), run_by_id(killed), drill="strong")
    weak_outcomes = {"w1": Outcome("killed", "x"), "w2": Outcome("survived")}
    weak = score(fake_mutants(*weak_outcomes), run_by_id(weak_outcomes), drill="weak")
    report = MutationReport((strong, weak))
    assert report.score == pytest.approx(20 / 21) and report.score > 0.9
    assert [d.drill for d in report.below(0.9)] == ["weak"] and not report.passed(0.9)
    assert report.passed(0.5) and MutationReport((strong,)).passed(0.9)
    broken = DrillScore(drill="broken", results=(), reference_fails="«one row»: no row")
    assert broken.score is None and broken.to_json()["reference_fails"] == "«one row»: no row"
    assert MutationReport((strong, broken)).below(0.9) == [broken]
    assert not MutationReport((strong, broken)).passed(0.0)


def test_score_runs_in_a_bounded_pool():
    lock, active, peak = threading.Lock(), [0], [0]

    def run(source: str) -> Outcome:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return Outcome("killed", "x")

    started = time.monotonic()
    result = score(fake_mutants(*"abcdefgh"), run, workers=3)
    assert result.killed == 8
    assert peak[0] == 3
    assert time.monotonic() - started < 8 * 0.05, "ran in parallel"


def test_a_failing_run_stops_the_scoring():
    started: list[str] = []

    def run(source: str) -> Outcome:
        started.append(source)
        raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        score(fake_mutants(*"abcdefgh"), run, workers=2)
    assert len(started) <= 3, "no new runs after the first error"


def test_outcome_of_a_check_report():
    def report(*results: CheckResult) -> CheckReport:
        return CheckReport(3, "select", "t", "f.py", list(results))

    ok = CheckResult(FIRST_CHECK, "passed")
    assert outcome_of(report(ok, CheckResult("b", "passed"))) == Outcome("survived")
    assert outcome_of(report(ok, CheckResult("b", "failed"), CheckResult("c", "skipped"))) == Outcome(
        "killed", "b"
    )
    crashed = CheckResult(FIRST_CHECK, "failed", rationale="your code raised NameError")
    assert outcome_of(report(crashed)).status == "crashed"
    slow = CheckResult(
        FIRST_CHECK, "failed", rationale="your code was still running after 1 second and was stopped"
    )
    assert outcome_of(report(slow)).status == "timeout"
    assert outcome_of(report()).killed


# --- end to end: a real drill, the real checker, real Postgres ----------------------------


def checker_run(
    drill: Drill, db, timeout: float = 10.0, service: CheckService | BatchChecker | None = None
) -> Callable[[str], Outcome]:
    """run(): the mutant in a temp file, through `drill check`'s own checker (a fresh child),
    or through a CheckService's forks or the check server (`drill validate --mutants`)."""

    def run(source: str) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="drillkit-mutant-") as tmp:
            path = Path(tmp) / drill.filename
            path.write_text(source, encoding="utf-8")
            if service is not None:
                return outcome_of(service.check(drill, path, timeout))
            return outcome_of(check_file(drill, path, db, timeout))

    return run


@pytest.fixture
def real_db(drill_home: Path):
    return control.resolve(
        resolve_paths(env={"DRILL_HOME": str(drill_home)}), env={"DRILL_HOME": str(drill_home)}
    )


def test_check_file_runs_off_the_main_thread(real_db):
    # Mutants are checked in a pool of threads; only the main thread may set signal handlers.
    drill = builtin_pack().get(3)
    outcomes: list[Outcome] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(checker_run(drill, real_db)(drill.solution_path.read_text()))
    )
    worker.start()
    worker.join()
    assert outcomes == [Outcome("survived")]


def test_drill_3_mutants_through_the_real_checker(real_db, drill_home: Path):
    drill = builtin_pack().get(3)
    reference = drill.solution_path.read_text(encoding="utf-8")
    # As `drill validate --mutants` checks them: through the data dir's check server.
    with BatchChecker(resolve_paths(env={"DRILL_HOME": str(drill_home)}), real_db) as service:
        run = checker_run(drill, real_db, service=service)
        assert run(reference) == Outcome("survived"), "the reference passes"
        result = mutate_and_score(reference, run, {}, workers=2, drill=drill.slug)
        assert service._local is None, "every mutant went through the check server"
    assert result.mutants >= 8
    assert result.score is not None and 0 < result.score <= 1
    assert result.killed + len(result.survivors) == result.mutants
    killed = {r.mutant.id: r.outcome for r in result.results if r.outcome.killed}
    # Wrong answers any check of this drill must reject.
    for wrong in ("drop-call:where@stmt", "flip-compare:==@stmt", "flip-order:desc->asc@stmt"):
        assert wrong in killed, wrong
    assert killed["flip-order:desc->asc@stmt"].check == "newest first (created_at descending)"
    for survivor in result.survivors:
        assert survivor.mutant.diff.startswith("--- a/solution.py")
        assert any(
            line.startswith("+") and not line.startswith("+++") for line in survivor.mutant.diff.splitlines()
        )
    # Marking every survivor equivalent makes the score whole, and says how many were marked
    # (scored again on the outcomes already known: the marks, not the checker, are the point).
    marked = {s.mutant.id: "test" for s in result.survivors}
    known = {r.mutant.source: r.outcome for r in result.results}
    rescored = mutate_and_score(reference, known.__getitem__, marked, workers=2)
    assert rescored.equivalent == len(marked) and rescored.score == 1.0
