"""`drill validate [PATH]`: everything a pack author needs to know before learners see the pack.

1. The format: every YAML file against the schema (schema.py), with `file:line` findings;
   unique slugs, card and item ids; every file a drill needs exists; hints and `requires`
   name real checks; cards and self-check items point at real drills.
2. The behaviour, against a real Postgres: every reference solution passes, every starter
   fails, every known answer (`<slug>/answers/*.py`) behaves as its header says.
3. No giveaways: a hint or a failure message that contains a line of the reference answer.

Runs go through the same runner as `drill check` (a child process each), several at once.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from drillkit.pack import schema
from drillkit.pack.model import ANSWER_MARKER, Drill, Pack
from drillkit.pack.schema import Finding
from drillkit.results import FIRST_CHECK, CheckReport
from drillkit.store import LEARNER_FILE_LIMIT, Unreadable, read_text_file
from drillkit.words import plural

CaseKind = Literal["solution", "starter", "answer"]


@dataclass(frozen=True)
class Expectation:
    passes: bool
    check: str | None = None  # the first failed check: its key, or part of its name
    message: str | None = None  # words that check's why/expected/got/hint must contain
    # Checks that must still pass on this wrong answer: none may blame the learner for
    # something the answer did not do (each named like `check`).
    passing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    drill: Drill
    kind: CaseKind
    file: Path
    expect: Expectation


@dataclass
class CaseResult:
    case: Case
    ok: bool
    detail: str  # what happened, for the report
    seconds: float
    report: CheckReport | None = None


@dataclass
class Validation:
    root: Path
    pack: Pack | None
    findings: list[Finding] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    drills: tuple[Drill, ...] = ()  # the drills validated: all, or the one --drill named

    @property
    def name(self) -> str:
        """The pack's id, read loosely from a pack.yaml that did not load; else its folder."""
        return self.pack.id if self.pack else _pack_id(self.root) or str(self.root)

    @property
    def clean(self) -> bool:
        return not self.findings and all(r.ok for r in self.results)

    def to_json(self) -> dict[str, object]:
        return {
            "pack": self.pack.id if self.pack else _pack_id(self.root),
            "root": str(self.root),
            "clean": self.clean,
            "findings": [
                {"file": f.file, "line": f.line, "drill": f.drill, "message": f.message}
                for f in self.findings
            ],
            "cases": [
                {
                    "drill": r.case.drill.slug,
                    "kind": r.case.kind,
                    "file": str(r.case.file),
                    "expect": "pass" if r.case.expect.passes else "fail",
                    "ok": r.ok,
                    "detail": r.detail,
                    "seconds": round(r.seconds, 3),
                }
                for r in self.results
            ],
        }


def _pack_id(root: Path) -> str | None:
    """The id a pack.yaml declares, read loosely (for reports on a pack that did not load)."""
    try:
        match = re.search(r"^id:\s*['\"]?([\w-]+)", read_text_file(root / "pack.yaml"), re.M)
    except Unreadable:
        return None
    return match.group(1) if match else None


HEADER = re.compile(r"#\s*(expect|check|message|passes):\s*(.+)")
HEADER_KEYS = ("expect", "check", "message", "passes")
_HEADER_LIKE = re.compile(r"#\s*([A-Za-z]+)\s*:\s*(.*)")


def _known_answer_lines(path: Path) -> list[str]:
    """A known answer's lines (a BOM dropped); Unreadable for a FIFO, a huge file, and the like."""
    return read_text_file(path, LEARNER_FILE_LIMIT).removeprefix("\ufeff").splitlines()


def _header_block(lines: list[str]) -> list[tuple[int, str, str]]:
    """(line number, key, value) of the headers read: the file's first lines, up to the
    first that is not one."""
    block = []
    for number, line in enumerate(lines, 1):
        match = HEADER.match(line)
        if not match:
            break
        block.append((number, match.group(1), match.group(2).strip()))
    return block


def read_expectation(path: Path) -> Expectation | None:
    """The `# expect:` header of a known answer, or None if it has none (or cannot be read)."""
    try:
        return _expectation(_known_answer_lines(path))
    except Unreadable:
        return None


def _expectation(lines: list[str]) -> Expectation | None:
    block = _header_block(lines)
    fields = {key: value for _, key, value in block}  # the last of each counts
    passing = tuple(value for _, key, value in block if key == "passes")  # once per check
    if fields.get("expect") == "pass":
        return Expectation(True)
    if fields.get("expect") == "fail":
        return Expectation(False, fields.get("check") or None, fields.get("message") or None, passing)
    return None


def header_problems(path: Path) -> list[tuple[int | None, str]]:
    """(line, problem) for what `read_expectation` would not read as meant: a file it cannot
    read, a header past the block (after a blank line, say), indented, misspelt, given twice
    or empty, an `# expect:` other than pass or fail, and `# check:`/`# message:`/`# passes:`
    on an answer that must pass (every check must)."""
    try:
        lines = _known_answer_lines(path)
    except Unreadable as exc:
        return [(None, f"the file {exc}")]
    block = _header_block(lines)
    problems: list[tuple[int | None, str]] = []
    first_line: dict[str, int] = {}
    for number, key, value in block:
        if not value:
            problems.append((number, f"`# {key}:` is empty: it needs {_HEADER_VALUES[key]}"))
        elif key == "expect" and value not in ("pass", "fail"):
            problems.append((number, f"`# expect:` must be `pass` or `fail`, not {value!r}"))
        if key != "passes" and key in first_line:
            problems.append((number, f"`# {key}:` is given twice (lines {first_line[key]} and {number})"))
        first_line.setdefault(key, number)
    expect = dict((k, v) for _, k, v in block).get("expect")
    named = path.name.split("_", 1)[0]
    once = sum(key == "expect" for _, key, _ in block) == 1  # twice is a finding of its own
    if once and expect in ("pass", "fail") and named in ("pass", "fail") and named != expect:
        # The name is what a reader goes by: the two saying different things is a slip.
        problems.append(
            (first_line["expect"], f"`# expect: {expect}` on a file named {named}_…: which is it?")
        )
    if expect == "pass":
        why = "means nothing on an `# expect: pass` answer: every check must pass"
        problems += [(number, f"`# {key}:` {why}") for number, key, _ in block if key != "expect"]
    for number in range(len(block) + 1, len(lines) + 1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            break  # the code begins: what follows is the learner file's own
        like = _HEADER_LIKE.match(stripped)
        if not like:
            continue
        key = like.group(1).lower()
        close = difflib.get_close_matches(key, HEADER_KEYS, n=1, cutoff=0.7)
        if key in HEADER_KEYS and not like.group(2).strip():
            problems.append((number, f"`# {key}:` is empty: it needs {_HEADER_VALUES[key]}"))
        elif key in HEADER_KEYS:
            why = (
                f"write it `# {key}: ...`, lowercase, at the start of the line"
                if number == len(block) + 1
                else "headers are the file's first lines, with nothing between them"
            )
            problems.append((number, f"`{stripped.split(':', 1)[0]}:` is not read: {why}"))
        elif close:
            problems.append((number, f"`# {like.group(1)}:` is not a header; did you mean `# {close[0]}:`?"))
    return problems


_HEADER_VALUES = {
    "expect": "`pass` or `fail`",
    "check": "the check that must fail first (its function name, or words of its name)",
    "message": "words the failure must contain",
    "passes": "a check that must still pass (its function name, or words of its name)",
}


# --- 1. the format ---------------------------------------------------------------------------


def check_format(root: Path, *, run_checks_py: bool = True) -> tuple[Pack | None, list[Finding]]:
    """Schema and cross-references; the loaded pack if it could be loaded at all. With
    `run_checks_py`, also each drill's checks as declared (which imports its checks.py)."""
    from drillkit.errors import DrillkitError
    from drillkit.pack.load import load_pack

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(root.parent))
        except ValueError:
            return str(p)

    index = root / "pack.yaml"
    meta, findings = schema.check_file(index, schema.PACK, rel(index))
    if not isinstance(meta, dict):
        return None, findings
    # Go on past schema findings: an author wants every problem in one run. A shape so wrong
    # that the cross-references cannot be read is what the schema findings already describe.
    with suppress(TypeError, AttributeError, ValueError):
        findings += _cross_references(root, meta, rel)
    if findings:
        return None, findings
    try:
        pack = load_pack(root)
    except DrillkitError as exc:
        return None, [Finding(rel(index), None, str(exc))]
    for drill in pack.drills:  # answer files are read, never run: pack add looks at them too
        for answer in sorted(drill.answers_dir.glob("*.py")):
            for line, why in header_problems(answer):
                # pack add refuses only files it cannot read; a header's wording is validate's
                if run_checks_py or line is None:
                    findings.append(Finding(rel(answer), line, why, drill.slug))
    for drill in pack.drills if run_checks_py else ():
        findings += _check_declarations(drill, rel)
    return pack, findings


def format_problem(root: Path, *, yaml_only: bool = False) -> tuple[Pack | None, str | None]:
    """What `drill pack add` refuses a pack for (check_format without running its Python):
    the pack and None, or None and its first problem with how many there are. `yaml_only`:
    only what is wrong in the YAML files (a file gone missing is reported where it is needed)."""
    pack, findings = check_format(root, run_checks_py=False)
    if yaml_only:
        findings = [f for f in findings if f.file.endswith(".yaml")]
    if not findings and (pack is not None or yaml_only):
        return pack, None
    first = str(findings[0]) if findings else "it cannot be loaded"
    return None, first + (f" ({plural(len(findings), 'problem')} in all)" if len(findings) > 1 else "")


def _cross_references(root: Path, meta: dict, rel: Callable[[Path], str]) -> list[Finding]:
    """Slugs, sections, fixtures, each drill's files and drill.yaml, cards and self-check."""
    index = root / "pack.yaml"
    findings: list[Finding] = []
    solutions = root / str(meta.get("solutions") or "solutions")
    entries = [d for d in meta.get("drills") or [] if isinstance(d, dict)]
    slugs = [d.get("slug") for d in entries]
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        findings.append(Finding(rel(index), None, f"drill slug {slug!r} is used twice"))
    sections, fixtures = meta.get("sections") or {}, meta.get("fixtures") or {}
    for entry in entries:
        slug = entry.get("slug")
        if entry.get("section") and entry["section"] not in sections:
            findings.append(
                Finding(
                    rel(index),
                    None,
                    f"drill {slug!r}: section {entry['section']!r} is not in `sections`",
                    slug,
                )
            )
        if entry.get("fixture") and entry["fixture"] not in fixtures and entry["fixture"] != "empty":
            findings.append(
                Finding(
                    rel(index),
                    None,
                    f"drill {slug!r}: fixture {entry['fixture']!r} is not in `fixtures`",
                    slug,
                )
            )
        folder = root / str(slug)
        for name in ("drill.yaml", "starter.py", "checks.py"):
            if not (folder / name).is_file():
                findings.append(Finding(rel(folder / name), None, "missing: every drill needs it", slug))
        if not (solutions / f"{slug}.py").is_file():
            solution = rel(solutions / f"{slug}.py")
            findings.append(Finding(solution, None, "missing: the reference solution", slug))
        if (folder / "drill.yaml").is_file():
            _, more = schema.check_file(folder / "drill.yaml", schema.DRILL, rel(folder / "drill.yaml"))
            findings += [Finding(f.file, f.line, f.message, slug) for f in more]
    for name, spec in fixtures.items():
        for kind in ("sql", "python"):
            if spec and spec.get(kind) and not (root / spec[kind]).is_file():
                findings.append(Finding(rel(index), None, f"fixture {name!r}: {spec[kind]} does not exist"))
    for name, spec in (("cards.yaml", schema.CARDS), ("selfcheck.yaml", schema.SELFCHECK)):
        if (root / name).is_file():
            data, more = schema.check_file(root / name, spec, rel(root / name))
            findings += more
            entries = (data or {}).get("cards" if name == "cards.yaml" else "items") or []
            ids = [e.get("id") for e in entries if isinstance(e, dict)]
            for dup in {i for i in ids if ids.count(i) > 1}:
                findings.append(
                    Finding(rel(root / name), None, f"id {dup!r} is used twice (ids key the progress file)")
                )
            for e in entries:
                for slug in (e.get("drills") or []) if isinstance(e, dict) else []:
                    if slug not in slugs:
                        findings.append(
                            Finding(
                                rel(root / name),
                                None,
                                f"{e.get('id')!r} names drill {slug!r}, which the pack does not have",
                            )
                        )
    return findings


def _check_declarations(drill: Drill, rel: Callable[[Path], str]) -> list[Finding]:
    """The drill's checks load; hints and `requires` name real checks; no child check waits
    for a database check."""
    from drillkit.check.framework import line_in
    from drillkit.check.loader import load_checks

    where = rel(drill.checks_path)
    try:
        checks = load_checks(drill.pack_id, drill.folder.parent, drill.slug)
    except Exception as exc:
        # Where it is, as for any other finding: a SyntaxError's own file and line (checks.py, or
        # a module it imports, common.py say), else the deepest frame in checks.py.
        if isinstance(exc, SyntaxError) and exc.filename:
            broken = Path(exc.filename)
            said = f"cannot load the checks: SyntaxError: {exc.msg}"
            return [Finding(rel(broken) if broken.is_absolute() else where, exc.lineno, said, drill.slug)]
        line = line_in(exc, drill.checks_path)
        return [Finding(where, line, f"cannot load the checks: {type(exc).__name__}: {exc}", drill.slug)]
    found: list[Finding] = []
    sides = {c.key: c.side for c in checks.checks}
    if not checks.checks:
        found.append(Finding(where, None, "declares no checks", drill.slug))
    names = [c.name for c in checks.checks]
    for dup in {n for n in names if names.count(n) > 1}:
        found.append(Finding(where, None, f"two checks are named {dup!r}", drill.slug))
    keys = [c.key for c in checks.checks]
    for dup in {k for k in keys if keys.count(k) > 1}:
        # Hints, `requires` and answers' headers name a check by its function: one name, one check.
        found.append(Finding(where, None, f"two checks are functions named {dup!r}", drill.slug))
    for check in checks.checks:
        for key in check.requires:
            if key not in sides:
                found.append(
                    Finding(where, None, f"«{check.name}» requires {key!r}, which is not a check", drill.slug)
                )
            elif check.side == "child" and sides[key] == "database":
                found.append(
                    Finding(
                        where,
                        None,
                        f"«{check.name}» runs in the child but requires the database check {key!r}, "
                        "which runs after the child has ended",
                        drill.slug,
                    )
                )
    for hint in drill.hints:
        if hint.check and hint.check not in sides:
            found.append(
                Finding(
                    rel(drill.folder / "drill.yaml"),
                    None,
                    f"a hint points at check {hint.check!r}; the checks are {', '.join(sides)}",
                    drill.slug,
                )
            )
    named = [(FIRST_CHECK, None)] + [(c.name, c.key) for c in checks.checks]
    for answer in sorted(drill.answers_dir.glob("*.py")):
        expect = read_expectation(answer)
        labels = [("check", expect.check)] if expect and expect.check else []
        labels += [("passes", label) for label in (expect.passing if expect else ())]
        for header, label in labels:
            if not any(_names(label, name, key) for name, key in named):
                message = f"`# {header}: {label}` names no check; the checks are {', '.join(sides)}"
                parts = [part.strip() for part in label.split(",")]
                if len(parts) > 1 and all(any(_names(p, n, k) for n, k in named) for p in parts if p):
                    message = (
                        f"`# {header}: {label}` names several checks: give each its own `# {header}:` line"
                    )
                found.append(Finding(rel(answer), None, message, drill.slug))
    return found


# --- 2. the behaviour --------------------------------------------------------------------------


def cases(pack: Pack, only: str | None = None) -> tuple[list[Case], list[Finding]]:
    out: list[Case] = []
    findings: list[Finding] = []
    for drill in pack.chosen(only):
        out.append(Case(drill, "solution", drill.solution_path, Expectation(True)))
        out.append(Case(drill, "starter", drill.starter_path, Expectation(False)))
        for path in sorted(drill.answers_dir.glob("*.py")) if drill.answers_dir.is_dir() else []:
            try:
                expect = _expectation(_known_answer_lines(path))
            except Unreadable:
                continue  # the format stage says why
            if expect is None:  # no header, or one that was not read: the format stage says which
                where = (
                    str(path.relative_to(pack.root.parent))
                    if path.is_relative_to(pack.root.parent)
                    else str(path)
                )
                findings.append(
                    Finding(
                        where,
                        1,
                        "a known answer needs an `# expect: pass` or `# expect: fail` header",
                        drill.slug,
                    )
                )
            else:
                out.append(Case(drill, "answer", path, expect))
    return out, findings


def judge(case: Case, report: CheckReport) -> tuple[bool, str]:
    failed = [r for r in report.results if r.status in ("failed", "error")]
    errors = [r for r in report.results if r.status == "error"]
    if errors:
        trace = (errors[0].actual or "").strip()
        last = trace.splitlines()[-1:]
        # Where in the pack's own code: the traceback's last frame in a file of the pack.
        frames = re.findall(r'File "([^"]+)", line (\d+)', trace)
        ours = [
            f"{Path(f).parent.name}/{Path(f).name}:{n}"
            for f, n in frames
            if Path(f).is_relative_to(case.drill.folder.parent)
        ]
        where = f" ({ours[-1]})" if ours else ""
        return (
            False,
            f"the checker failed on «{errors[0].name}»{where}: {last[0] if last else errors[0].rationale}",
        )
    if case.kind == "starter":
        return (
            not report.passed,
            "fails, as a starter should" if not report.passed else "the untouched starter passes every check",
        )
    if case.expect.passes:
        if report.passed:
            return True, "passes"
        if not failed:
            return False, "expected to pass, but not every check ran"
        first = failed[0]
        return False, f"expected to pass, but «{first.name}» failed: {first.rationale}"
    if report.passed or not failed:
        return False, "expected to fail, but no check failed: the checks let this wrong answer through"
    first = failed[0]
    if case.expect.check and not _names(case.expect.check, first.name, first.key):
        did = f"«{first.name}»" + (f" ({first.key})" if first.key else "")
        return False, f"expected «{case.expect.check}» to fail first, but {did} did: {first.rationale}"
    parts = [
        ("why", first.rationale),
        ("expected", first.expected),
        ("got", first.actual),
        ("hint", first.help),
    ]
    said = " ".join(str(value or "") for _, value in parts)
    if case.expect.message and case.expect.message.lower() not in said.lower():
        shown = "; ".join(f"{label} {str(value)[:120]}" for label, value in parts if value)
        return (
            False,
            f"«{first.name}» failed, but its message does not say {case.expect.message!r}: {shown}",
        )
    for label in case.expect.passing:
        # A label that names no check at all is the format stage's finding, said once there.
        named = [r for r in report.results if _names(label, r.name, r.key)]
        blamed = [r for r in named if r.status != "passed"]
        if blamed:
            r = blamed[0]
            return False, f"«{r.name}» should pass on this answer, but it {r.status}: {r.rationale}"
    return True, f"fails at «{first.name}»"


def _names(label: str, name: str, key: str | None) -> bool:
    """Whether a header's check label means this check: its key, or words of its name."""
    wanted = label.lower()
    return wanted in name.lower() or wanted == (key or "").lower()


def run_cases(
    todo: list[Case],
    check: Callable[[Case], CheckReport],
    workers: int,
    progress: Callable[[CaseResult], None],
) -> list[CaseResult]:
    def one(case: Case) -> CaseResult:
        started = time.monotonic()
        try:
            report = check(case)
        except Exception as exc:  # a runner or database failure is reported, never a traceback
            return CaseResult(case, False, f"could not be checked: {exc}", time.monotonic() - started)
        ok, detail = judge(case, report)
        result = CaseResult(case, ok, detail, time.monotonic() - started, report)
        progress(result)
        return result

    from drillkit.run.interrupts import signals_as_interrupts, signals_held

    # On Ctrl-C the cases not yet started are dropped, and the running ones end and drop
    # their schemas; a second Ctrl-C meanwhile is ignored, or it would leave them behind.
    with signals_as_interrupts():
        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        try:
            # Held: an interrupt inside submit() can leave a thread it started unknown to the
            # pool, which then would not wait for it.
            with signals_held():
                futures = [pool.submit(one, case) for case in todo]
            return [future.result() for future in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --- 3. no giveaways -------------------------------------------------------------------------


def _answer_lines(drill: Drill) -> list[str]:
    """Lines of the reference answer long enough that quoting one hands over the code."""
    try:
        text = read_text_file(drill.solution_path)
    except Unreadable:
        return []
    _, marker, tail = text.partition(ANSWER_MARKER)
    body = tail if marker else text
    lines = [" ".join(line.split()) for line in body.splitlines()]
    return [line for line in lines if len(line) >= 24 and not line.startswith(("#", "import ", "from "))]


def giveaways(pack: Pack, results: list[CaseResult]) -> list[Finding]:
    found: list[Finding] = []
    for drill in pack.drills:
        lines = _answer_lines(drill)
        if not lines:
            continue
        texts = [
            (f"{drill.slug}/drill.yaml", f"hint {i}", h.text) for i, h in enumerate(drill.hints, start=1)
        ]
        for result in results:
            if result.case.drill is drill and result.report is not None:
                for r in result.report.results:
                    for key in ("expected", "help"):
                        texts.append((f"{drill.slug}/checks.py", f"«{r.name}» {key}", getattr(r, key) or ""))
        for file, what, text in texts:
            flat = " ".join(text.split())
            for line in lines:
                if line in flat:
                    found.append(
                        Finding(file, None, f"{what} gives the reference answer away: {line!r}", drill.slug)
                    )
                    break
    return list(dict.fromkeys(found))


# --- all of it -----------------------------------------------------------------------------------


def validate(
    root: Path,
    check: Callable[[Case], CheckReport] | None,
    *,
    only: str | None = None,
    workers: int = 2,
    progress: Callable[[CaseResult], None] = lambda r: None,
) -> Validation:
    """Format first; then, if it is sound and `check` is given, the behaviour and the giveaways."""
    pack, findings = check_format(root)
    result = Validation(root, pack, findings)
    if pack is None:
        return result
    result.drills = pack.chosen(only)  # a drill that is not there: one line, also with the format only
    if check is None:  # the format only: the hints can still quote the answer
        result.findings += giveaways(pack, [])
        return result
    todo, more = cases(pack, only)
    result.findings += more
    result.results = run_cases(todo, check, workers, progress)
    result.findings += giveaways(pack, result.results)
    return result


def junit(validation: Validation) -> str:
    """The cases as a JUnit XML report (one testcase per file checked, one for the format)."""
    from xml.sax.saxutils import quoteattr

    name = validation.pack.id if validation.pack else validation.root.name
    failures = sum(1 for r in validation.results if not r.ok) + (1 if validation.findings else 0)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f"<testsuite name={quoteattr('drill validate ' + name)} "
        f"tests={quoteattr(str(len(validation.results) + 1))} "
        f"failures={quoteattr(str(failures))}>",
        f'  <testcase classname={quoteattr(name)} name="format">',
    ]
    if validation.findings:
        body = "\n".join(str(f) for f in validation.findings)
        lines.append(
            f"    <failure message={quoteattr(plural(len(validation.findings), 'finding'))}>"
            f"{_escape(body)}</failure>"
        )
    lines.append("  </testcase>")
    for r in validation.results:
        case = r.case
        label = f"{case.drill.slug}/{case.kind}" + (f"/{case.file.stem}" if case.kind == "answer" else "")
        lines.append(
            f'  <testcase classname={quoteattr(name)} name={quoteattr(label)} time="{r.seconds:.3f}">'
        )
        if not r.ok:
            lines.append(f"    <failure message={quoteattr(r.detail[:200])}>{_escape(r.detail)}</failure>")
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)
