"""Packs other than the built-in one: a tiny `books` pack made by `drill new`, driven through
every command from a folder, a git URL and an installed distribution; the check API's
dependencies, checker errors and database checks; `drill validate`'s findings."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from drillkit.results import FIRST_CHECK
from tests.conftest import Learner, builtin_pack

SOLUTION_LINES = (
    "from sqlalchemy import func, select\n\n"
    'session.add(Book(title="Dune", year=1965))\n'
    "session.commit()\n"
    "count = session.scalar(select(func.count()).select_from(Book))\n"
)


def make_pack(learner: Learner, name: str = "books") -> Path:
    root = learner.cwd.parent / name
    result = learner.drill("new", str(root))
    assert result.code == 0, result.stderr
    return root


def pack_id(root: Path) -> str:
    return re.search(r"^id: (\S+)", (root / "pack.yaml").read_text(), re.M).group(1)


def answer(root: Path, slug: str, body: str) -> Path:
    """A learner file: the starter's given part plus `body`."""
    starter = (root / slug / "starter.py").read_text()
    path = root.parent / f"answer_{slug}_{abs(hash(body)) % 10**6}.py"
    path.write_text(starter + body)
    return path


def test_new_pack_validates_clean_and_grows_a_drill(learner: Learner) -> None:
    root = make_pack(learner)
    assert {"pack.yaml", "add_book", "solutions", "fixtures", "cards.yaml", "selfcheck.yaml"} <= {
        p.name for p in root.iterdir()
    }
    done = learner.drill("validate", str(root), "--json")
    report = done.json
    assert done.code == 0 and report["clean"], report
    kinds = sorted((c["kind"], c["expect"]) for c in report["cases"])
    assert kinds == [("answer", "fail"), ("answer", "pass"), ("solution", "pass"), ("starter", "fail")]

    added = learner.drill("new", "--drill", "notes", "--pack", str(root))
    assert added.code == 0, added.stderr
    marks = {line.split()[1].rsplit("/", 1)[-1]: line.split()[0] for line in added.stdout.splitlines()[:-1]}
    assert marks["pack.yaml"] == "~" and marks["checks.py"] == "+"  # changed, made
    assert (root / "notes" / "checks.py").is_file() and (root / "solutions" / "notes.py").is_file()
    again = learner.drill("validate", str(root), "--json", "--junit", str(root.parent / "junit.xml"))
    assert again.code == 0, again.stdout
    assert {c["drill"] for c in again.json["cases"]} == {"add_book", "notes"}
    junit = (root.parent / "junit.xml").read_text()
    assert junit.count("<testcase") == len(again.json["cases"]) + 1 and "<failure" not in junit

    twice = learner.drill("new", "--drill", "notes", "--pack", str(root))
    assert twice.code == 2 and "already has a drill 'notes'" in twice.stderr
    taken = learner.drill("new", str(root))
    assert taken.code == 2 and "not empty" in taken.stderr


def test_the_commands_drill_new_suggests_can_be_pasted(learner: Learner) -> None:
    made = learner.drill("new", "Web Shop [1]")
    assert made.code == 0, made.stderr
    flat = " ".join(made.stdout.split())
    assert "drill validate 'Web Shop [1]';" in flat and "--pack 'Web Shop [1]'" in flat
    pasted = shlex.split(flat.split("Check it: ")[1].split(";")[0])
    assert learner.drill(*pasted[1:], "--format-only").code == 0
    elsewhere = learner.drill("new", "--drill", "notes")  # in a folder that is no pack
    assert elsewhere.code == 2 and "--pack PATH" in elsewhere.stderr


def test_a_pack_from_a_folder_through_every_command(learner: Learner) -> None:
    root = make_pack(learner)
    pid = pack_id(root)
    added = learner.drill("pack", "add", str(root))
    assert added.code == 0 and added.stdout.splitlines()[0].endswith("(1 drill)")  # a new pack has one
    listed = learner.drill("pack", "list")
    assert pid in listed.stdout and "sqlalchemy" in listed.stdout
    relative = Learner(learner.home, root.parent, learner.env)  # added as ./books, listed from anywhere
    assert relative.drill("pack", "add", "./books").code == 0
    assert str(root.resolve()) in learner.drill("pack", "list", COLUMNS="300").stdout

    # Reachable by pack:slug while the built-in pack is active.
    starter_check = learner.drill(
        "check", f"{pid}:add_book", "--file", str(root / "add_book" / "starter.py"), "--json"
    )
    assert starter_check.code == 1

    used = learner.drill("pack", "use", pid)
    assert used.code == 0 and "(1 drill)." in used.stdout
    shown = learner.drill("list")
    assert shown.code == 0 and shown.stdout.splitlines()[0].startswith(f"Pack {pid}")
    assert "Add a book" in shown.stdout and "sqlalchemy" in shown.stdout  # says the others exist
    data = learner.drill("list", "--json").json
    assert [d["slug"] for d in data["drills"]] == ["add_book"] and data["total"] == 1

    started = learner.drill("start", "1")
    attempt = learner.workspace / pid / "01_add_book.py"
    assert started.code == 0 and attempt.is_file()
    scaffolded = attempt.read_text()
    assert learner.drill("check", "1").code == 1  # the untouched starter: fails, not counted
    assert learner.drill("progress", "--json").json["drills"][0]["attempts"] == 0

    # Inserted but never committed: the database check fails and the tied hint comes first.
    attempt.write_text(attempt.read_text() + 'session.add(Book(title="Dune", year=1965))\ncount = 4\n')
    failed = learner.drill("check", "1", "--json").json
    statuses = {r["key"]: r["status"] for r in failed["results"] if r["key"]}
    assert statuses == {"counted": "passed", "committed": "failed"}
    hint = learner.drill("hint", "1")
    hint.stdout = " ".join(hint.stdout.split())
    assert hint.code == 0 and "ends well" in hint.stdout and '«"Dune" (1965) is committed»' in hint.stdout

    attempt.write_text(scaffolded + SOLUTION_LINES)
    passed = learner.drill("check", "1")
    assert passed.code == 0, passed.stdout
    progress = learner.drill("progress", "--json").json
    assert progress["passed"] == progress["total"] == 1
    revealed = learner.drill("reveal", "1", "--yes")
    assert revealed.code == 0 and "select_from(Book)" in revealed.stdout

    # Renumbering keeps progress: a new first drill moves add_book to number 2.
    assert learner.drill("new", "--drill", "intro", "--pack", str(root)).code == 0
    text = (root / "pack.yaml").read_text()
    line = re.search(r"^  - \{slug: intro.*\n", text, re.M).group(0)
    (root / "pack.yaml").write_text(text.replace(line, "").replace("drills:\n", "drills:\n" + line))
    rows = {d["slug"]: d for d in learner.drill("list", "--json").json["drills"]}
    assert rows["add_book"]["number"] == 2 and rows["add_book"]["status"] == "passed"
    assert rows["intro"]["status"] == "not started"

    # Removing the pack keeps its progress; adding it back finds it. It was active: now which is.
    removed = learner.drill("pack", "remove", pid)
    assert (
        removed.code == 0 and "It was the active pack: the active pack is now sqlalchemy." in removed.stdout
    )
    assert pid not in learner.drill("pack", "list").stdout
    assert learner.drill("list").stdout.splitlines()[0].startswith("Pack sqlalchemy")
    assert learner.drill("pack", "add", str(root)).code == 0
    assert learner.drill("check", f"{pid}:add_book", "--file", str(attempt), "--json").code == 0
    saved = json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text())
    assert saved["version"] == 3 and saved["packs"][pid]["drills"]["add_book"]["first_passed_at"]


def test_a_pack_from_a_git_url(learner: Learner) -> None:
    root = make_pack(learner, "gitbooks")
    git = {
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@b",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@b",
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "pack"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **git})
    added = learner.drill("pack", "add", f"file://{root}")
    assert added.code == 0 and "cloned" in added.stdout, added.stderr
    clone = learner.home / "packs" / pack_id(root)
    assert (clone / "pack.yaml").is_file()
    listed = learner.drill("pack", "list").stdout
    assert f"file://{root}" in listed.replace("\n", "") or "file://" in listed
    shutil.rmtree(root)  # the clone is drillkit's own: the original can go
    assert (
        learner.drill(
            "check", f"{pack_id(clone)}:add_book", "--file", str(clone / "solutions" / "add_book.py")
        ).code
        == 0
    )
    assert learner.drill("pack", "remove", pack_id(clone)).code == 0
    assert not clone.exists()
    bad = learner.drill("pack", "add", f"file://{learner.cwd}/nothing-here")
    assert bad.code == 2 and "cannot clone" in bad.stderr


def test_a_pack_from_an_installed_distribution(learner: Learner, tmp_path: Path) -> None:
    """`pip install drillkit-pack-foo` is all a learner does: the pack registers itself under the
    `drillkit.packs` entry point group. A dist-info on the path is what pip leaves behind.
    Real processes: the path a fresh interpreter starts with is the point."""
    site = tmp_path / "site"
    package = site / "drillkit_pack_shelf"
    root = make_pack(learner, "shelf-src")
    shutil.copytree(root, package)
    (package / "__init__.py").write_text("")
    dist = site / "drillkit_pack_shelf-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: drillkit-pack-shelf\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[drillkit.packs]\n{pack_id(root)} = drillkit_pack_shelf\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    listed = learner.process("pack", "list", **env)
    assert listed.code == 0 and pack_id(root) in listed.stdout and "drillkit-pack-shelf" in listed.stdout
    assert learner.process("pack", "use", pack_id(root), **env).code == 0
    assert learner.process("list", **env).stdout.startswith(f"Pack {pack_id(root)}")
    assert learner.process("validate", pack_id(root), "--format-only", **env).code == 0
    solution = package / "solutions" / "add_book.py"
    assert learner.process("check", "add_book", "--file", str(solution), **env).code == 0
    # Uninstalled: the active pack is gone, said in one line.
    gone = learner.process("list")
    assert gone.code == 2 and "no pack" in gone.stderr and "Traceback" not in gone.stderr


DEFINES_COUNT = (
    '@checks.add("defines count")\ndef defined(ctx):\n    ctx.require("count", "`count`", "define it")\n\n'
)


def pack_with_checks(learner: Learner, body: str) -> tuple[Path, str]:
    """A new pack, added clean, then its drill's checks replaced by `body`: edited in place,
    as an author does (`pack add` refuses a pack whose hints name checks it lacks)."""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    _write_check(root, body)
    return root, pid


def _write_check(root: Path, body: str) -> None:
    (root / "add_book" / "checks.py").write_text(
        "from drillkit.check import Checks, Context, DatabaseView, Fail\n\nchecks = Checks()\n\n" + body
    )


def test_dependencies_skip_only_what_depends(learner: Learner) -> None:
    root, pid = pack_with_checks(
        learner,
        DEFINES_COUNT + '@checks.add("count is four", requires=[defined])\ndef four(ctx):\n'
        '    if ctx.namespace["count"] != 4:\n        raise Fail("not four")\n\n'
        '@checks.add("file printed nothing")\ndef quiet(ctx):\n    pass\n\n'
        '@checks.database("Dune committed")\ndef dune(db):\n'
        '    if not db.rows("SELECT 1 FROM books WHERE title = :t", t="Dune"):\n'
        '        raise Fail("no Dune")\n',
    )
    path = answer(root, "add_book", 'session.add(Book(title="Dune", year=1965))\nsession.commit()\n')
    report = learner.drill("check", f"{pid}:add_book", "--file", str(path), "--json").json
    got = {r["name"]: (r["status"], r["rationale"]) for r in report["results"]}
    assert got["defines count"][0] == "failed"
    assert got["count is four"] == ("skipped", "needs «defines count» to pass first")
    assert got["file printed nothing"][0] == "passed" and got["Dune committed"][0] == "passed"


def test_a_passes_header_names_a_skipped_check_by_its_function_name(learner: Learner) -> None:
    """A skipped check keeps its key: `# passes: quad` is told it was skipped, not that it
    names no check (which sent an author looking for a typo that was not there)."""
    root, _ = pack_with_checks(
        learner,
        DEFINES_COUNT + '@checks.add("count is four", requires=[defined])\ndef quad(ctx):\n    pass\n',
    )
    starter = (root / "add_book" / "starter.py").read_text()
    for old in (root / "add_book" / "answers").glob("*.py"):
        old.unlink()
    header = "# expect: fail\n# check: defined\n# passes: quad\n"
    (root / "add_book" / "answers" / "fail_no_count.py").write_text(header + starter)
    done = learner.drill("validate", str(root), "--json")
    details = [c["detail"] for c in done.json["cases"] if c["file"].endswith("fail_no_count.py")]
    assert details == [
        "«count is four» should pass on this answer, but it skipped: needs «defines count» to pass first"
    ]


def test_a_requirement_that_is_not_a_check_is_the_checkers_error(learner: Learner) -> None:
    """A `requires` typo (or a check that runs later) is the pack's bug: said so by `drill
    check`, and by `drill validate` as a finding and a failed case, never as a traceback."""
    root, pid = pack_with_checks(
        learner,
        DEFINES_COUNT + '@checks.add("count is four", requires=["definde"])\ndef four(ctx):\n'
        '    if ctx.namespace["count"] != 4:\n        raise Fail("not four")\n',
    )
    (root / "add_book" / "answers" / "fail_three.py").write_text(
        "# expect: fail\n" + (root / "add_book" / "starter.py").read_text() + "count = 3\n"
    )
    path = answer(root, "add_book", "count = 4\n")
    done = learner.drill("check", f"{pid}:add_book", "--file", str(path), "--json")
    got = {r["name"]: (r["status"], r["rationale"]) for r in done.json["results"]}
    assert done.code == 1 and got["defines count"][0] == "passed"
    assert got["count is four"][0] == "error" and "'definde'" in got["count is four"][1]
    assert "not your mistake" in got["count is four"][1]
    validated = learner.drill("validate", str(root), "--json")
    assert validated.code == 1 and "Traceback" not in validated.stderr, validated.stderr
    assert any("'definde', which is not a check" in f["message"] for f in validated.json["findings"])
    failing = [c for c in validated.json["cases"] if c["file"].endswith("fail_three.py")]
    assert failing and not failing[0]["ok"] and "'definde'" in failing[0]["detail"]


def pack_id_added(learner: Learner, root: Path) -> str:
    assert learner.drill("pack", "add", str(root)).code == 0
    return pack_id(root)


def test_a_checker_bug_is_the_checkers_and_is_not_recorded(learner: Learner) -> None:
    root, pid = pack_with_checks(
        learner, '@checks.add("a buggy check")\ndef buggy(ctx):\n    return {}["no such key"]\n'
    )
    path = answer(root, "add_book", "count = 4\n")
    done = learner.drill("check", f"{pid}:add_book", "--file", str(path))
    assert done.code == 1 and "not your mistake" in done.stdout and "KeyError" in done.stdout
    assert (
        learner.drill("check", f"{pid}:add_book", "--file", str(path), "--json").json["results"][1]["status"]
        == "error"
    )
    assert learner.drill("progress", "--json").json["drills"][0]["attempts"] == 0  # built-in pack untouched
    saved = Path(learner.env["DRILL_PROGRESS"])
    assert not saved.exists() or pid not in json.loads(saved.read_text()).get("packs", {})
    # validate tells the author where: the line of their checks.py.
    details = {c["detail"] for c in learner.drill("validate", str(root), "--json").json["cases"]}
    assert "the checker failed on «a buggy check» (add_book/checks.py:7): KeyError: 'no such key'" in details
    # A broken checks.py (cannot even be imported) is the pack's problem too.
    (root / "add_book" / "checks.py").write_text("import no_such_module\n")
    broken = learner.drill("check", f"{pid}:add_book", "--file", str(path), "--json")
    assert broken.code == 1 and broken.json["results"][0]["status"] == "error"
    # What it shows is the pack's line, not the import machinery and drillkit around it.
    (root / "add_book" / "checks.py").write_text("x = 1\ndef broken(:\n")
    shown = learner.drill("check", f"{pid}:add_book", "--file", str(path), "--json").json["results"][0]
    assert f'File "{root / "add_book" / "checks.py"}", line 2' in shown["actual"], shown
    assert (
        "SyntaxError" in shown["actual"]
        and "drillkit" not in shown["actual"]
        and "<frozen" not in shown["actual"]
    )


def test_a_slug_used_twice_after_the_pack_was_added_is_refused_at_use(learner: Learner) -> None:
    """`pack add` checked the pack; an edit since made two drills of one slug, which would
    share its files and its progress: one line when the pack is used, not a list of both."""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    index = root / "pack.yaml"
    entry = re.search(r"^  - \{slug: add_book.*$", index.read_text(), re.M).group(0)
    index.write_text(index.read_text().replace(entry, entry + "\n" + entry))
    done = learner.drill("start", f"{pid}:1")
    assert done.code == 2 and "'add_book' is used twice" in done.stderr and "pack.yaml" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_misspelt_key_after_the_pack_was_added_is_refused_at_use(learner: Learner) -> None:
    """A misspelt optional key read as one left out: the drill silently lost its hints. A
    pack edited since `pack add` is checked again as pack add checked it, once per change."""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    assert learner.drill("hint", f"{pid}:1").code == 0
    spec = root / "add_book" / "drill.yaml"
    original = spec.read_text()
    spec.write_text(original.replace("\nhints:", "\nhint:"))
    done = learner.drill("hint", f"{pid}:1")
    line = len(original.split("\nhints:")[0].splitlines()) + 1
    assert done.code == 2 and f"add_book/drill.yaml:{line}: hint: unknown key" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "drill validate" in done.stderr
    spec.write_text(original)
    assert learner.drill("hint", f"{pid}:1").code == 0


def test_validate_says_once_what_fails_every_file_of_a_drill_alike(learner: Learner) -> None:
    root = make_pack(learner)
    (root / "add_book" / "checks.py").write_text("def broken(:\n")
    done = learner.drill("validate", str(root))
    lines = [" ".join(line.split()) for line in done.stdout.split("✗")[1:]]
    files = [line for line in lines if line.startswith("add_book:")]
    assert done.code == 1 and len(files) == 1, done.stdout
    assert re.match(r"add_book: \d+ files — the checker failed on «your file runs without errors»", files[0])
    assert "(add_book/checks.py:1): SyntaxError" in files[0]
    # The format stage names the line too.
    found = learner.drill("validate", str(root), "--format-only", "--json").json["findings"]
    assert [(f["line"], f["message"]) for f in found if f["file"].endswith("checks.py")] == [
        (1, "cannot load the checks: SyntaxError: invalid syntax")
    ], found


def test_a_syntax_error_in_a_module_the_checks_import_is_found_there(learner: Learner) -> None:
    root = make_pack(learner)
    (root / "helpers.py").write_text("x = 1\ny = (\n")
    checks = root / "add_book" / "checks.py"
    checks.write_text(checks.read_text() + "\nfrom ..helpers import x  # noqa\n")
    found = learner.drill("validate", str(root), "--format-only", "--json").json["findings"]
    assert [(f["file"].rsplit("/", 1)[-1], f["line"]) for f in found if "cannot load" in f["message"]] == [
        ("helpers.py", 2)
    ], found


def test_a_hang_inside_a_check_names_that_check(learner: Learner) -> None:
    root, pid = pack_with_checks(
        learner,
        '@checks.add("calls your function")\ndef calls(ctx):\n    ctx.namespace["spin"]()\n',
    )
    path = answer(root, "add_book", "def spin():\n    while True:\n        pass\n")
    done = learner.drill("check", f"{pid}:add_book", "--file", str(path), "--timeout", "1.5", "--json")
    first = done.json["results"][0]
    assert done.code == 1 and "while checking «calls your function»" in first["rationale"]


def _odd(attribute: str, raises: str) -> str:
    """An exception class one of whose attributes raises when read."""
    return f"class Odd(Exception):\n    @property\n    def {attribute}(self):\n        raise {raises}\n"


ELSEWHERE = "class Odd(BaseException):\n    pass\n\ndef raise_odd():\n    raise Odd()\n"
HOSTILE_EXCEPTIONS = {
    "orig raises": _odd("orig", "RuntimeError('no')"),
    "orig exits": _odd("orig", "SystemExit(3)"),
    "__class__ raises": _odd("__class__", "KeyboardInterrupt"),
    "__notes__ raises": _odd("__notes__", "KeyboardInterrupt"),
    "compiled elsewhere": f"ns = {{}}\nexec(compile({ELSEWHERE!r}, '/nowhere/other.py', 'exec'), ns)\n",
}


@pytest.mark.parametrize("kind", HOSTILE_EXCEPTIONS)
@pytest.mark.parametrize("where", ["in a function a check calls", "at module level"])
def test_an_exception_of_the_learner_s_that_fights_being_looked_at_is_still_their_failure(
    learner: Learner, kind: str, where: str
) -> None:
    """Telling who failed reads the exception (its class, `orig`, cause, notes, traceback):
    a learner's exception built to make that raise, or raised from code compiled under
    another file's name, is still their failure and is recorded, never a crashed checker's
    "not your mistake" (which would hide the failure from progress)."""
    root, pid = pack_with_checks(
        learner, '@checks.add("calls your function")\ndef calls(ctx):\n    ctx.namespace["boom"]()\n'
    )
    raising = "ns['raise_odd']()" if kind == "compiled elsewhere" else "raise Odd()"
    body = HOSTILE_EXCEPTIONS[kind] + f"\ndef boom():\n    {raising}\n"
    if where == "at module level":
        body += "\nboom()\n"
    done = learner.drill("check", f"{pid}:add_book", "--file", str(answer(root, "add_book", body)), "--json")
    failed = [r for r in done.json["results"] if r["status"] != "passed"]
    assert done.code == 1 and failed[0]["status"] == "failed", failed
    assert failed[0]["name"] == ("calls your function" if where != "at module level" else FIRST_CHECK)
    progress = json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text())
    assert progress["packs"][pid]["drills"]["add_book"]["attempts"] == 1


def test_a_pack_bug_in_generated_code_is_still_the_checkers(learner: Learner) -> None:
    """A dataclass's __init__ is compiled as `<string>`: a frame of no file, which is
    evidence of no one's code. A check of the pack's that fails in there is the pack's."""
    root, pid = pack_with_checks(
        learner,
        "from dataclasses import dataclass\n\n@dataclass\nclass Row:\n    n: int\n"
        "    def __post_init__(self):\n        raise ValueError('the pack\\'s own bug')\n\n"
        '@checks.add("builds a row")\ndef builds(ctx):\n    Row(1)\n',
    )
    done = learner.drill("check", f"{pid}:add_book", "--file", str(answer(root, "add_book", "")), "--json")
    assert done.json["results"][1]["status"] == "error", done.json["results"]


@pytest.mark.parametrize("folder", ["checker", "plain temp"])
def test_code_a_check_writes_to_a_checker_folder_is_the_checkers(learner: Learner, folder: str) -> None:
    """A check that writes code and runs it (practice:migration's Alembic env.py) puts it in
    ctx.checker_folder(): a bug there is the pack's. A folder of its own making is unknown
    code, counted as the learner's (the blame the checker folder exists to avoid)."""
    make = "ctx.checker_folder()" if folder == "checker" else "nullcontext(Path(tempfile.mkdtemp()))"
    root, pid = pack_with_checks(
        learner,
        "import runpy, tempfile\nfrom contextlib import nullcontext\nfrom pathlib import Path\n\n"
        '@checks.add("runs generated code")\ndef generated(ctx):\n'
        f"    with {make} as where:\n"
        "        (where / 'env.py').write_text('raise ValueError(\"the pack\\'s own bug\")\\n')\n"
        "        runpy.run_path(str(where / 'env.py'))\n",
    )
    done = learner.drill("check", f"{pid}:add_book", "--file", str(answer(root, "add_book", "")), "--json")
    result = done.json["results"][1]
    assert result["status"] == ("error" if folder == "checker" else "failed"), result


@pytest.mark.parametrize(
    "stand_in",
    [
        "import functools, json\nboom = functools.partial(json.loads, '{')\nboom.__wrapped__ = mine\n",
        "import json\nboom = json.loads\nboom.__wrapped__ = mine\n",
        "ns = {}\nexec(compile('def boom():\\n    raise ValueError()\\n', PACK_FILE, 'exec'), ns)\n"
        "boom = ns['boom']\n",
    ],
    ids=["a partial dressed as mine", "a library function dressed as mine", "compiled as the pack's"],
)
def test_require_function_takes_only_a_function_the_learner_wrote(learner: Learner, stand_in: str) -> None:
    """What a stand-in raises would carry no frame of the learner's and read as the
    checker's error, which is not recorded: refused as not the learner's function."""
    root, pid = pack_with_checks(
        learner, '@checks.add("calls boom")\ndef calls(ctx):\n    ctx.require_function("boom", "boom()")()\n'
    )
    body = "def mine():\n    pass\n\n" + stand_in.replace(
        "PACK_FILE", repr(str(root / "add_book" / "checks.py"))
    )
    done = learner.drill("check", f"{pid}:add_book", "--file", str(answer(root, "add_book", body)), "--json")
    result = done.json["results"][1]
    assert (result["status"], result["rationale"]) == ("failed", "`boom` is not a function of your own")


def test_a_database_check_that_never_ends_is_the_checkers_error_at_the_deadline(
    learner: Learner, monkeypatch
) -> None:
    """Database checks run in drillkit's own process (here: the check server is off, so this
    one): one that loops is given up on at the deadline, as the pack's bug, and the next check
    still works. It ends after 15 s, closing the reader it was left with."""
    from drillkit.run import runner

    seconds, server = 1, "off"
    # A minute in drill itself; the learner's file keeps a roomy --timeout, since a cold child
    # on a busy host can take more than a second to start.
    monkeypatch.setattr(runner, "database_checks_seconds", lambda timeout: float(seconds))
    root, pid = pack_with_checks(
        learner,
        DEFINES_COUNT + '@checks.database("a check that never ends")\ndef stuck(db):\n    import time\n'
        "    end = time.monotonic() + 15\n    while time.monotonic() < end:\n        time.sleep(0.01)\n\n"
        '@checks.database("a check after it")\ndef after(db):\n    pass\n',
    )
    path = answer(root, "add_book", "count = 4\n")
    env = {"DRILL_CHECK_SERVER": server}
    started = time.monotonic()
    done = learner.drill("check", f"{pid}:add_book", "--file", str(path), "--timeout", "20", "--json", **env)
    took = time.monotonic() - started
    statuses = {r["name"]: (r["status"], r["rationale"]) for r in done.json["results"]}
    assert statuses["defines count"] == ("passed", None)
    status, why = statuses["a check that never ends"]
    assert status == "error" and f"did not finish within {seconds} s" in why and "not your mistake" in why
    assert statuses["a check after it"] == ("skipped", "not run: «a check that never ends» never finished")
    assert done.code == 1 and took < 30, took
    saved = Path(learner.env["DRILL_PROGRESS"])  # a checker's failure is not an attempt
    assert not saved.exists() or pid not in json.loads(saved.read_text()).get("packs", {})
    again = learner.drill("check", "3", "--file", str(builtin_pack().get("select").solution_path), **env)
    assert again.code == 0, again.stdout


def test_database_checks_get_a_minute_or_the_learners_timeout_if_longer() -> None:
    from drillkit.run.runner import DATABASE_CHECKS_SECONDS, database_checks_seconds

    assert database_checks_seconds(1) == DATABASE_CHECKS_SECONDS == 60
    assert database_checks_seconds(DATABASE_CHECKS_SECONDS * 2) == DATABASE_CHECKS_SECONDS * 2


def test_database_checks_cannot_be_forged_from_the_learners_process(learner: Learner) -> None:
    """A learner file that rewrites every child-side check to pass still fails the database check:
    that one runs in drillkit's own process, after the learner's has ended."""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    forged = (
        "import sys\n"
        "for name, module in list(sys.modules.items()):\n"
        "    found = getattr(getattr(module, 'checks', None), 'checks', None)\n"
        "    for check in found if isinstance(found, list) else []:\n"
        "        object.__setattr__(check, 'fn', lambda ctx: None)\n"
        "        forged = True\n"
        'session.add(Book(title="Dune", year=1965))\ncount = 4\n'
    )
    report = learner.drill(
        "check", f"{pid}:add_book", "--file", str(answer(root, "add_book", forged)), "--json"
    ).json
    statuses = {r["name"]: r["status"] for r in report["results"]}
    assert statuses["your file runs without errors"] == "passed"
    assert statuses["`count` is the number of books after the insert"] == "passed"  # forged in the child
    assert statuses['"Dune" (1965) is committed'] == "failed" and report["passed"] is False


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("format: 1", "format: 2"), "pack format 2; this drillkit reads format 1"),
        (lambda t: t.replace('requires: ">=0.2"', 'requires: ">=99"'), "needs drillkit >=99"),
    ],
    ids=["format", "requires"],
)
def test_format_and_drillkit_version_are_enforced(learner: Learner, edit, expected: str) -> None:
    root = make_pack(learner)
    (root / "pack.yaml").write_text(edit((root / "pack.yaml").read_text()))
    added = learner.drill("pack", "add", str(root))
    assert added.code == 2 and expected in added.stderr and added.stderr.count("\n") == 1


def test_validate_reports_findings_with_file_and_line(learner: Learner) -> None:
    root = make_pack(learner)
    text = (root / "pack.yaml").read_text()
    (root / "pack.yaml").write_text(text.replace("version: ", "verison: "))
    done = learner.drill("validate", str(root))
    line = next(
        i for i, t in enumerate((root / "pack.yaml").read_text().splitlines(), 1) if t.startswith("verison")
    )
    assert done.code == 1
    flat = " ".join(done.stdout.split())
    assert f"pack.yaml:{line}: verison: unknown key" in flat and "missing required key `version`" in flat

    (root / "pack.yaml").write_text(text)
    hints = (root / "add_book" / "drill.yaml").read_text().replace("check: committed", "check: no_such_check")
    (root / "add_book" / "drill.yaml").write_text(hints)
    (root / "add_book" / "answers" / "pass_wrong_label.py").write_text(
        "# expect: pass\n" + (root / "add_book" / "starter.py").read_text() + "count = 4\n"
    )
    (root / "add_book" / "starter.py").unlink()
    data = learner.drill("validate", str(root), "--json")
    assert data.code == 1
    messages = " ".join(f["message"] for f in data.json["findings"])
    assert "missing: every drill needs it" in messages
    (root / "add_book" / "starter.py").write_text(
        (root / "solutions" / "add_book.py").read_text().split("# --- your answer below")[0]
        + "# --- your answer below\n"
    )
    data = learner.drill("validate", str(root), "--json")
    messages = " ".join(f["message"] for f in data.json["findings"])
    assert "no_such_check" in messages
    (root / "add_book" / "drill.yaml").write_text(hints.replace("no_such_check", "committed"))
    data = learner.drill("validate", str(root), "--json").json
    wrong = [c for c in data["cases"] if c["file"].endswith("pass_wrong_label.py")]
    assert wrong and not wrong[0]["ok"] and "expected to pass" in wrong[0]["detail"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "nopack:1"], "no pack 'nopack'"),
        (["check", "3:"], "'3:' needs a pack and a drill around the colon, as in practice:3"),
        # `drill list` shows the active pack: another pack's drills are listed after a switch.
        (["check", "practice:99"], "no drill '99' in pack 'practice'"),
        (["check", "practice:99"], "see `drill list` after `drill pack use practice`"),
        (["check", f"{builtin_pack().id}:99"], "...): see `drill list`\n"),
        (["start", ":select"], "':select' needs a pack and a drill around the colon"),
        (["new", __file__], f"{__file__} is a file, not a folder; pick a new folder for the pack"),
        (
            ["reveal", "3", "--full", "--diff", "--yes"],
            "--full shows the whole reference file and --diff only",
        ),
        (["check", "selct"], f"did you mean `select` (drill {builtin_pack().get('select').number})?"),
        (["validate", "/no/such/folder"], "no such folder"),
        (
            ["validate", __file__],
            f"{__file__} is not a folder: a pack is the folder that holds pack.yaml",
        ),
        (["validate", "sqlalchemy", "--drill", "99"], "no drill '99' in pack 'sqlalchemy'"),
        (["validate", "practice", "--drill", "99"], "drills/practice/pack.yaml\n"),
        (["validate", "sqlalchemy", "--drill", "selct", "--format-only"], "did you mean `select`"),
        (["pack", "use", "nopack"], "no pack 'nopack'"),
        (["pack", "remove", "sqlalchemy"], "built into drillkit"),
        (["pack", "add", "/no/such/folder"], "no such folder or git URL"),
    ],
)
def test_bad_pack_input_is_one_line_and_exit_2(learner: Learner, args: list[str], expected: str) -> None:
    done = learner.drill(*args)
    assert done.code == 2, done
    assert (
        expected in done.stderr and done.stderr.startswith("drill: error:") and "Traceback" not in done.stderr
    )


def test_mutants_score_strong_and_weak_checks(learner: Learner) -> None:
    """The scaffolded pack's checks catch every mutant; with only the `count` check left, the
    mutants that drop the commit survive and are listed with their diffs, and the score falls
    below the pack's threshold (exit 1)."""
    root = make_pack(learner)
    strong = learner.drill("validate", str(root), "--mutants", "--json")
    assert strong.code == 0, strong.stdout
    assert strong.json["score"] == 1.0 and strong.json["mutants"] >= 5 and strong.json["survived"] == 0

    checks = (root / "add_book" / "checks.py").read_text()
    (root / "add_book" / "checks.py").write_text(checks[: checks.index("@checks.database")])
    weak = learner.drill("validate", str(root), "--mutants", "--json")
    report = weak.json
    assert weak.code == 1 and report["score"] < report["threshold"]
    survivors = {s["id"]: s for d in report["drills"] for s in d["survivors"]}
    assert "delete-stmt:session.commit" in survivors
    assert "-session.commit()" in survivors["delete-stmt:session.commit"]["diff"]

    # Marking a survivor equivalent takes it out of the count, and the report says so.
    text = (root / "pack.yaml").read_text()
    marks = "".join(f'    "{i}": checked by hand\n' for i in survivors)
    (root / "pack.yaml").write_text(text.replace("drills:\n", f"equivalent:\n  add_book:\n{marks}drills:\n"))
    marked = learner.drill("validate", str(root), "--mutants")
    assert marked.code == 0 and f"{len(survivors)} marked equivalent" in " ".join(marked.stdout.split())


def test_mutants_of_a_reference_that_fails_its_checks_are_not_run(learner: Learner) -> None:
    """Its mutants would 'survive' for the reference's bug (the author told to fix the checks),
    so the reference runs first: the drill fails the run and says why."""
    root = make_pack(learner)
    solution = root / "solutions" / "add_book.py"
    solution.write_text(solution.read_text().replace("session.commit()", "session.rollback()"))
    broken = learner.drill("validate", str(root), "--mutants", "--json")
    assert broken.code == 1 and broken.json["passed"] is False
    [drill] = broken.json["drills"]
    assert drill["mutants"] == 0 and drill["survivors"] == [] and drill["reference_fails"].startswith("«")
    shown = " ".join(learner.drill("validate", str(root), "--mutants").stdout.split())
    assert "add_book: the reference solution fails its own checks, so no mutant was run" in shown
    assert "below the threshold: add_book (its reference fails)" in shown


@pytest.mark.parametrize(
    ("sql", "commits"),
    [
        ("COMMIT", True),
        ("commit;", True),
        ("/* by hand */ END", True),
        ("UPDATE documents SET title = 'x'; COMMIT", True),
        ("SELECT 'COMMIT'", False),
        ("-- COMMIT\nSELECT 1", False),
        ("ROLLBACK", False),
    ],
)
def test_a_commit_sent_by_hand_is_found_however_written(sql: str, commits: bool) -> None:
    from drillkit.check.recorder import Statement
    from drillkit.check.sql import commits_by_hand

    assert bool(commits_by_hand([Statement(sql, False, sql)])) is commits


@pytest.mark.parametrize(
    ("sql", "sorted_newest_first"),
    [
        ("SELECT d.id FROM documents d WHERE d.owner_id = %(o)s ORDER BY d.created_at DESC", True),
        ('SELECT d.id FROM documents AS d ORDER BY d."created_at" DESC, d.id', True),
        ("SELECT ')' AS x, d.id FROM documents d ORDER BY d.created_at DESC", True),
        ("SELECT d.id, d.created_at AS ts FROM documents d ORDER BY ts DESC", True),
        ("SELECT d.id, d.created_at AS ts FROM documents d ORDER BY ts", False),
        # not the query's own ORDER BY: a comment, a window, a subquery's
        ("/* ORDER BY created_at DESC */ SELECT d.id FROM documents d ORDER BY d.created_at", False),
        ("SELECT d.id FROM documents d ORDER BY row_number() OVER (ORDER BY d.created_at DESC) DESC", False),
        ("SELECT a.id FROM (SELECT d.id FROM documents d ORDER BY d.created_at DESC) AS a", False),
        ("SELECT d.id FROM documents d ORDER BY d.created_at", False),
        ("SELECT d.id FROM documents d WHERE $$ ORDER BY created_at DESC $$ <> '' ORDER BY d.id", False),
        ("/* /* */ ORDER BY created_at DESC */ SELECT d.id FROM documents d", False),
    ],
)
def test_an_order_by_counts_only_as_the_query_s_own(sql: str, sorted_newest_first: bool) -> None:
    from drillkit.check.recorder import Statement
    from drillkit.check.sql import has_order_by

    assert has_order_by(Statement(sql, False, sql), "created_at", descending=True) is sorted_newest_first


@pytest.mark.parametrize(
    ("sql", "raw", "writes_rows", "hand_update"),
    [
        ("UPDATE documents SET title = 'x'", "", True, True),
        ("WITH u AS (UPDATE documents SET title = 'Final' RETURNING id) SELECT id FROM u", "", True, True),
        ("SELECT * FROM documents WHERE id = 5 FOR UPDATE", "", False, False),
        ("SELECT * FROM documents FOR NO KEY UPDATE", "", False, False),
        ("SELECT 'UPDATE', \"delete\" FROM x -- insert\n", "", False, False),
        ("CREATE INDEX ix ON documents (owner_id)", "", False, False),
        ("ALTER TABLE documents ALTER COLUMN title TYPE text", "", True, False),
        # code that can write anything, its words hidden in a string it executes
        ("DO $$ BEGIN EXECUTE 'DEL' || 'ETE FROM documents'; END $$", "", True, True),
        ("CALL tidy()", "", True, True),
        ("CREATE OR REPLACE FUNCTION pg_temp.f() RETURNS void AS 'SELECT 1' LANGUAGE sql", "", True, True),
        ("SELECT 1; DO $$ BEGIN EXECUTE 'UPD' || 'ATE documents SET x = 1'; END $$", "", True, True),
        ("SELECT 1;CALL p()", "", True, True),
        # a quote misread would hide what follows it
        ("WITH a AS (SELECT E'\\'' q), d AS (DELETE FROM documents RETURNING id) SELECT 1", "", True, False),
        ("WITH a AS (SELECT $$'$$ q), d AS (DELETE FROM documents RETURNING id) SELECT 1", "", True, False),
        ("SELECT $$UPDATE documents$$, $t$DELETE$t$", "", False, False),
        ("SELECT '--' ; DELETE FROM documents", "", True, False),
        ("SELECT a$q$, b$q$ FROM documents; UPDATE documents SET x = 1", "", True, True),
        ("/* /* */ UPDATE documents SET x = 1 */ SELECT 1", "", False, False),
        ("CLUSTER documents USING documents_newest", "", True, False),
        ("CREATE TEMP VIEW documents AS SELECT * FROM public.x", "", True, True),
        ("INSERT INTO tags (name) VALUES ('x') ON CONFLICT DO NOTHING", "", True, False),
        ("SELECT 'do', \"call\" FROM x", "", False, False),
        ("SELECT count(*) AS call FROM documents GROUP BY owner_id", "", False, False),
        ("-- a note\n  do $$ begin perform 1; end $$", "", True, True),
        # the display copy has the parameters pasted in; the statement as sent does not
        ("SELECT * FROM t WHERE s = <Status.UPDATE: 'u'>", "SELECT * FROM t WHERE s = %(s_1)s", False, False),
    ],
)
def test_writes_and_hand_written_updates_are_read_from_the_sql_itself(
    sql: str, raw: str, writes_rows: bool, hand_update: bool
) -> None:
    from drillkit.check.recorder import Statement
    from drillkit.check.sql import writes, written_by_hand

    statement = Statement(sql, False, raw)
    assert bool(writes([statement])) is writes_rows
    assert bool(written_by_hand([statement], "UPDATE")) is hand_update


def test_pack_add_refuses_a_pack_validate_would_find_fault_with(learner: Learner) -> None:
    """A learner never gets a drill with a missing file or a shared slug (once: tracebacks at
    `drill reveal` and a 0-byte attempt at `drill start`). Its code runs later, as always."""
    root = make_pack(learner)
    (root / "solutions" / "add_book.py").unlink()
    refused = learner.drill("pack", "add", str(root))
    assert refused.code == 2 and refused.stdout == ""
    line = refused.stderr.strip()
    assert "\n" not in line and f"{root} is not a valid drill pack:" in line
    assert "solutions/add_book.py" in line and f"`drill validate {root}` lists them" in line
    assert pack_id(root) not in learner.drill("pack", "list").stdout


def test_pack_add_runs_none_of_the_pack_s_python(learner: Learner) -> None:
    """Adding a pack (a git URL's too) only reads its files: its checks run at a check."""
    root = make_pack(learner)
    marker = learner.cwd / "imported"
    checks = root / "add_book" / "checks.py"
    checks.write_text(f"open({str(marker)!r}, 'w').close()\n" + checks.read_text())
    assert learner.drill("pack", "add", str(root)).code == 0
    assert not marker.exists()


def test_validate_finds_two_checks_of_one_name_and_headers_that_name_no_check(learner: Learner) -> None:
    root = make_pack(learner)
    checks = (root / "add_book" / "checks.py").read_text()
    (root / "add_book" / "checks.py").write_text(
        checks + '\n\n@checks.add("another")\ndef committed(ctx):\n    pass\n'
    )
    header = "# expect: fail\n# check: no such check\n# passes: nor this one\n"
    (root / "add_book" / "answers" / "fail_x.py").write_text(header + "count = 3\n")
    done = learner.drill("validate", str(root), "--format-only", "--json")
    messages = [f["message"] for f in done.json["findings"]]
    assert done.code == 1
    assert "two checks are functions named 'committed'" in messages
    assert any(m.startswith("`# check: no such check` names no check; the checks are") for m in messages)
    assert any(m.startswith("`# passes: nor this one` names no check") for m in messages)
    # Two checks on one line is the slip, and the finding says so (it read as "names no check;
    # the checks are" the very two it named).
    names = re.findall(r"^def (\w+)\(", checks, re.M)[:2]
    (root / "add_book" / "answers" / "fail_x.py").write_text(
        f"# expect: fail\n# passes: {', '.join(names)}\n"
    )
    found = learner.drill("validate", str(root), "--format-only", "--json").json["findings"]
    assert f"`# passes: {', '.join(names)}` names several checks: give each its own `# passes:` line" in [
        f["message"] for f in found
    ]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (
            "# expect: fail\n\n# passes: committed\n",
            (3, "`# passes:` is not read: headers are the file's first"),
        ),
        ("# expect: fail\n# pass: committed\n", (2, "`# pass:` is not a header; did you mean `# passes:`?")),
        (
            "# expect: fail\n# Check: committed\n",
            (2, "`# Check:` is not read: write it `# check: ...`, lowercase, at the start of the line"),
        ),
        (
            "  # expect: fail\n",
            (1, "`# expect:` is not read: write it `# expect: ...`, lowercase, at the start"),
        ),
        ("# expect: fail\n# check: \n", (2, "`# check:` is empty: it needs the check that must fail first")),
        ("# expect: pass\n# expect: fail\n", (2, "`# expect:` is given twice (lines 1 and 2)")),
        ("# expect: fail  # a note\n", (1, "`# expect:` must be `pass` or `fail`, not 'fail  # a note'")),
        ("\ufeff# expect: fail\n# check: committed\n", None),  # a BOM, as some editors save
        ("# expect: fail\n# passes:\n", (2, "`# passes:` is empty: it needs a check that must still pass")),
        (
            "# expect: pass\n# passes: committed\n",
            (2, "`# passes:` means nothing on an `# expect: pass` answer"),
        ),
        ("# expect: fail\n# check: committed\n# Note: a comment of the author's\n", None),
        ("# expect: fail\n", None),
    ],
)
def test_validate_finds_answer_headers_it_would_not_read_as_meant(
    tmp_path: Path, header: str, problem: tuple[int, str] | None
) -> None:
    """A header that is silently not read makes a known answer test less than its author thinks."""
    from drillkit.pack.validate import header_problems

    path = tmp_path / ("pass_x.py" if header.startswith("# expect: pass") else "fail_x.py")
    path.write_text(header + "count = 3  # check: words in the code are the learner file's own\n")
    found = header_problems(path)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0][0] == problem[0] and found[0][1].startswith(problem[1]), found


def test_a_message_that_does_not_match_is_shown_with_its_labels(learner: Learner) -> None:
    """The failure a `# message:` was looked for in, each part named: not four texts run together."""
    root = make_pack(learner)
    path = root / "add_book" / "answers" / "fail_never_committed.py"
    text = re.sub(r"(?m)^# message: .*$", "# message: words no check says", path.read_text(), count=1)
    path.write_text(text)
    done = learner.drill("validate", str(root))
    said = " ".join(done.stdout.split())
    assert done.code == 1 and "its message does not say 'words no check says': why " in said, said
    assert "; expected " in said and "; got " in said


@pytest.mark.parametrize(("name", "expect"), [("pass_all_books.py", "fail"), ("fail_typo.py", "pass")])
def test_an_answer_named_for_one_outcome_and_labelled_the_other_is_a_finding(
    tmp_path: Path, name: str, expect: str
) -> None:
    from drillkit.pack.validate import header_problems

    path = tmp_path / name
    path.write_text(f"# expect: {expect}\ncount = 3\n")
    assert [line for line, problem in header_problems(path) if "which is it?" in problem] == [1]


def test_validate_reads_no_answer_that_is_not_a_regular_file(learner: Learner) -> None:
    """A known answer turned into a FIFO (a plain read waits forever) or a link to /dev/zero
    (it never ends) is a finding, not a hang or a MemoryError."""
    root = make_pack(learner)
    answers = root / "add_book" / "answers"
    os.mkfifo(answers / "fail_fifo.py")
    (answers / "fail_zero.py").symlink_to("/dev/zero")
    refused = learner.drill("pack", "add", str(root))  # it reads the answers, runs none
    assert refused.code == 2 and "fail_fifo.py" in refused.stderr
    done = learner.drill("validate", str(root), "--json")
    assert done.code == 1, done.stdout
    messages = sorted((f["file"].rsplit("/", 1)[-1], f["message"]) for f in done.json["findings"])
    assert messages == [  # once each
        ("fail_fifo.py", "the file is a FIFO (named pipe), not a regular file"),
        ("fail_zero.py", "the file is a character device, not a regular file"),
    ]


def test_a_pack_file_gone_after_the_pack_was_added_is_one_line_never_an_empty_attempt(
    learner: Learner,
) -> None:
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    (root / "add_book" / "starter.py").unlink()  # a folder pack is used where it is: its author edits it
    (root / "solutions" / "add_book.py").unlink()
    for args, what in [
        (["start", f"{pid}:1"], "starter"),
        (["reveal", f"{pid}:1", "--yes"], "reference solution"),
    ]:
        done = learner.drill(*args)
        assert done.code == 2 and done.stdout == "", done.stdout
        line = done.stderr.strip()
        assert "\n" not in line and line.startswith("drill: error: ")
        assert f"the {what} of drill {pid}:add_book, " in line and ", does not exist; " in line
        assert f"`drill validate {root}` checks it" in line
    assert not (learner.cwd / "drillwork").exists()  # no empty attempt left behind
    attempt = learner.cwd / "drillwork" / pid / "01_add_book.py"
    attempt.parent.mkdir(parents=True)
    attempt.write_text("mine\n")
    reset = learner.drill("reset", f"{pid}:1", "--yes")
    assert reset.code == 2 and "the starter of drill" in reset.stderr
    assert attempt.read_text() == "mine\n"  # not moved to backups/ for a starter that is not there
    mine = learner.cwd / "mine.py"
    mine.write_text("count = 4\n")
    checked = learner.drill("check", f"{pid}:1", "--file", str(mine))
    assert checked.code == 1 and "Traceback" not in checked.stdout + checked.stderr
    (root / "add_book" / "checks.py").unlink()
    for server in ("on", "off"):
        checked = learner.drill("check", f"{pid}:1", "--file", str(mine), DRILL_CHECK_SERVER=server)
        assert checked.code == 2 and checked.stdout == "", checked.stdout
        line = checked.stderr.strip()
        assert (
            "\n" not in line and f"the checks of drill {pid}:add_book, " in line and "does not exist" in line
        )


@pytest.mark.parametrize(
    ("tail", "said"),
    [
        ("drills:\n\t- a\n", "that cannot start any token, while scanning for the next token"),
        ("extra: [a, b\n", "expected ',' or ']'"),
    ],
)
def test_a_yaml_error_says_what_was_found_and_where(learner: Learner, tail: str, said: str) -> None:
    """PyYAML's first line ("while parsing a flow sequence") alone does not say what is wrong.
    (Its C loader, which a learner's commands use, words the problem a little differently.)"""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    index = root / "pack.yaml"
    before = len(index.read_text().splitlines())
    index.write_text(index.read_text() + tail)
    done = learner.drill("validate", str(root), "--format-only")
    flat = " ".join(done.stdout.split())
    assert done.code == 1 and re.search(rf"pack\.yaml:(\d+): not valid YAML: .*{re.escape(said)}", flat), flat
    assert int(re.search(r"pack\.yaml:(\d+)", flat).group(1)) > before  # the line that was added
    checked = learner.drill("check", f"{pid}:1", "--file", str(root / "solutions" / "add_book.py"))
    assert checked.code == 2 and re.search(
        rf"pack\.yaml:\d+ is not valid YAML: .*{re.escape(said)}", checked.stderr
    )


def test_a_checks_py_that_exits_is_the_checkers_error(learner: Learner) -> None:
    """Once `drill check` itself exited 3, without a word, when a pack's checks.py called sys.exit(3)."""
    _, pid = pack_with_checks(learner, "import sys\nsys.exit(3)\n")
    mine = learner.cwd / "mine.py"
    mine.write_text("count = 4\n")
    done = learner.drill("check", f"{pid}:1", "--file", str(mine), "--json", DRILL_CHECK_SERVER="off")
    first = done.json["results"][0]
    assert done.code == 1 and first["status"] == "error" and "not your mistake" in first["rationale"]


def test_pack_files_turned_into_a_fifo_or_an_alias_bomb_are_one_line_not_a_hang(learner: Learner) -> None:
    """A folder pack is used where it is: whatever its files become, drill never blocks on a
    FIFO (a plain read waits for a writer forever) nor expands a few hundred bytes of YAML
    aliases into hundreds of millions of values."""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    starter = root / "add_book" / "starter.py"
    starter.unlink()
    os.mkfifo(starter)
    started = learner.drill("start", f"{pid}:1")
    assert started.code == 2 and "is a FIFO (named pipe), not a regular file" in started.stderr
    starter.unlink()

    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        levels.append(f"l{n}: &l{n} [{', '.join(['*' + ('a' if n == 1 else f'l{n - 1}')] * 9)}]")
    pack_yaml = root / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text() + "bomb:\n" + "".join(f"  {line}\n" for line in levels))
    listed = learner.drill("start", f"{pid}:1")
    assert listed.code == 2 and "uses a YAML alias (*name): write the value out in full" in listed.stderr
    found = learner.drill("validate", str(root), "--format-only", "--json")
    assert found.code == 1
    assert [f["message"] for f in found.json["findings"] if "alias" in f["message"]], found.json
    # Merge keys copy pairs before anything could count them: refused alike, by both readers.
    pack_yaml.write_text(pack_yaml.read_text().split("bomb:")[0] + "base: &b {x: 1}\nuse: {<<: *b}\n")
    assert "uses a YAML alias" in learner.drill("start", f"{pid}:1").stderr
    found = learner.drill("validate", str(root), "--format-only", "--json").json["findings"]
    assert [f["message"] for f in found if "alias" in f["message"]], found

    pack_yaml.unlink()
    os.mkfifo(pack_yaml)
    listed = learner.drill("start", f"{pid}:1")
    assert listed.code == 2 and "pack.yaml is a FIFO (named pipe), not a regular file" in listed.stderr
    found = learner.drill("validate", str(root), "--json")  # the report names the pack too
    assert found.code == 1 and "the file is a FIFO (named pipe)" in found.json["findings"][0]["message"]


def test_a_fixture_that_never_ends_is_stopped_and_named_as_the_pack_s(
    learner: Learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drillkit.run import space

    monkeypatch.setattr(space, "FIXTURE_SECONDS", 1)  # 30 s in drill itself
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    fixture = root / "fixtures" / "books.sql"
    fixture.write_text(fixture.read_text() + "\nSELECT pg_sleep(60);\n")
    done = learner.drill(
        "check", f"{pid}:1", "--file", str(root / "solutions" / "add_book.py"), DRILL_CHECK_SERVER="off"
    )
    assert done.code == 2, done.stdout
    assert "a statement of the drill's fixture 'books' (" in done.stderr and "Traceback" not in done.stderr
    assert "books.sql) ran for more than 1 s and was stopped" in done.stderr


@pytest.mark.parametrize(
    ("name", "text", "line", "said", "server"),
    [
        (
            "books.sql",
            "INSERT INTO books (title, year) VALUES ('Dune', 1965;\n",
            8,
            "SyntaxError: syntax",
            "on",
        ),
        ("books.sql", "INSERT INTO bookz VALUES (1);\n", 8, 'UndefinedTable: relation "bookz"', "off"),
        (
            "seed.py",
            "def seed(conn):\n    conn.execute('SELECT 1')\n    1 / 0\n",
            3,
            "ZeroDivisionError",
            "on",
        ),
        (
            "seed.py",
            "def seed(conn):\n    conn.execute('SELECT 1')\n    1 / 0\n",
            3,
            "ZeroDivisionError",
            "off",
        ),
        ("seed.py", "def seed(conn)\n    pass\n", 1, "SyntaxError", "on"),
        # failing inside a transaction of its own, which leaves the admin connection aborted
        ("books.sql", "BEGIN;\nINSERT INTO bookz VALUES (1);\nCOMMIT;\n", 9, 'relation "bookz"', "on"),
        ("seed.py", "import sys\n\n\ndef seed(conn):\n    sys.exit(3)\n", 5, "SystemExit: 3", "off"),
        # a time limit of its own, far below drillkit's: still the fixture's, not the database's
        ("books.sql", "SET statement_timeout = '50ms';\nSELECT pg_sleep(1);\n", None, "QueryCanceled", "on"),
    ],
    ids=[
        "sql-syntax",
        "sql-runtime-server-off",
        "python-raises",
        "python-raises-server-off",
        "python-syntax",
        "sql-in-its-own-transaction",
        "python-exits-server-off",
        "sql-its-own-timeout",
    ],
)
def test_a_broken_fixture_is_one_line_naming_its_file_and_line_as_the_pack_s(
    learner: Learner, name: str, text: str, line: int | None, said: str, server: str
) -> None:
    """Not a traceback, not the check server's fault, not "the user needs CREATE": the pack's
    bug, with where to look."""
    root = make_pack(learner)
    pid = pack_id_added(learner, root)
    fixture = root / "fixtures" / name
    if name == "books.sql":
        fixture.write_text(fixture.read_text().rstrip("\n") + "\n" + text)
    else:
        fixture.write_text(text)
        index = root / "pack.yaml"
        index.write_text(index.read_text().replace("{sql: fixtures/books.sql}", "{python: fixtures/seed.py}"))
    done = learner.drill(
        "check", f"{pid}:1", "--file", str(root / "solutions" / "add_book.py"), DRILL_CHECK_SERVER=server
    )
    assert done.code == 2 and done.stdout == "", done.stdout
    lines = [text for text in done.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, done.stderr
    where = f"{fixture}:{line}" if line else str(fixture)  # no line: Postgres points at none
    assert lines[0].startswith(f"drill: error: the drill's fixture 'books' failed ({where}): ")
    assert said in done.stderr and "(a bug in the pack; `drill validate` shows it)" in done.stderr
    assert "CREATE on the database" not in done.stderr and "check server" not in done.stderr


def test_ddl_a_model_attaches_to_its_creation_is_refused_but_an_enum_s_own_is_not() -> None:
    """An after_create DDL fixed a wrong model's table behind its back (a forged pass); an
    Enum's CREATE TYPE is SQLAlchemy's own and stays."""
    from sqlalchemy import DDL, Column, Enum, Integer, MetaData, Table, event
    from sqlalchemy.dialects.postgresql import ENUM

    from drillkit.check.framework import Fail
    from drillkit.check.schema import _refuse_ddl_of_their_own

    metadata = MetaData()
    table = Table(
        "documents",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("state", Enum("draft", "final", name="state")),
        Column("kind", ENUM("a", "b", name="kind")),
    )
    _refuse_ddl_of_their_own(metadata)

    # SQLAlchemy 2.0 wraps its hook in a portable_instancemethod of its own, not a partial.
    from drillkit.check.schema import _sqlalchemy_s_own

    class portable_instancemethod:  # SQLAlchemy's name, which the rule reads
        def __init__(self, method: object) -> None:
            self.target, self.name = method.__self__, method.__name__  # type: ignore[attr-defined]

    portable_instancemethod.__module__ = "sqlalchemy.util.langhelpers"
    enum = Enum("a", "b", name="ab")
    assert _sqlalchemy_s_own(portable_instancemethod(enum._on_table_create))

    class Mine(Enum):
        def _on_table_create(self, *args: object, **kwargs: object) -> None:
            pass

    assert not _sqlalchemy_s_own(portable_instancemethod(Mine("a", name="m")._on_table_create))
    event.listen(table, "after_create", DDL("ALTER TABLE documents ALTER COLUMN id SET NOT NULL"))
    with pytest.raises(Fail, match="DDL of its own"):
        _refuse_ddl_of_their_own(metadata)
