"""The learner's child process (issue 12): it dies with `drill`, keeps its own deadline, stays
within its OS limits, and the known routes to a forged pass end as a failure, never a pass."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drillkit.check.loader import package_name
from drillkit.pack.catalog import builtin_sources, load_source
from drillkit.results import FIRST_CHECK, UntrustedResult
from drillkit.run import limits, protocol
from drillkit.run.space import connect, sweep_orphans
from tests.conftest import REPO, Learner, builtin_pack, ensure_os_user
from tests.test_isolation import admin_url

PACK = builtin_pack()
SELECT, DOCS = PACK.get("select"), PACK.get("docs_for_user")
N, N_DOCS = str(SELECT.number), str(DOCS.number)
SOLUTION_3 = SELECT.solution_path.read_text(encoding="utf-8")
SOLUTION_7 = DOCS.solution_path.read_text(encoding="utf-8")
CHECKS_3 = f"{package_name(PACK.id)}.{SELECT.slug}.checks"  # the module the check loader makes
CHECKS_7 = f"{package_name(PACK.id)}.{DOCS.slug}.checks"
GiB = 1024**3
MiB = 1024**2


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(learner: Learner, path: Path, *args: str, drill: str = N) -> dict:
    result = learner.drill("check", drill, "--file", str(path), "--json", *args)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert result.code == 1, (result.code, result.stdout[-3000:], result.stderr[-3000:])
    report = result.json
    assert report["passed"] is False
    return report


def first_failure(report: dict) -> dict:
    return next(r for r in report["results"] if r["status"] == "failed")


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def started_check(learner: Learner, path: Path, *args: str) -> subprocess.Popen[str]:
    return learner.start("check", N, "--file", str(path), "--json", *args)


def spinning_file(tmp_path: Path, spawn: bool = True) -> tuple[Path, Path]:
    """A learner file that records its process group, starts a sleeper, then spins."""
    marker = tmp_path / "pgid"
    source = "import os, subprocess, sys\nfrom drillkit.sandbox import session\n"
    if spawn:
        source += "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    source += (
        f"open({str(marker)!r}, 'w').write(str(os.getpgid(0)) + ' ' + os.environ['TMPDIR'])\n"
        "while True:\n    pass\n"
    )
    return write(tmp_path, "spin.py", source), marker


# --- the child dies with its parent, and keeps its own deadline ------------------------------


@pytest.mark.parametrize(
    ("after", "passes"),
    [
        ("import os\nos.remove(__file__)\n", True),  # a right answer that deletes its file
        # a 1.x answer that rewrites its file clean (the 2.0-style check reads what ran)
        ("import pathlib\npathlib.Path(__file__).write_text(open({clean!r}).read())\n", False),
    ],
)
def test_checks_judge_the_file_as_it_ran(learner: Learner, tmp_path: Path, after: str, passes: bool) -> None:
    answer = tmp_path / "03_select.py"
    body = SOLUTION_3 if passes else SOLUTION_3 + "from sqlalchemy import Column\n_old = Column('x')\n"
    answer.write_text(body + after.format(clean=str(SELECT.solution_path)), encoding="utf-8")
    result = learner.drill("check", str(SELECT.number), "--file", str(answer), "--json")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.json["passed"] is passes, result.stdout
    if not passes:
        failed = [r for r in result.json["results"] if r["status"] != "passed"]
        assert [r["key"] for r in failed] == ["modern_style"], failed


def test_kill_9_of_drill_takes_the_child_and_its_group(learner: Learner, tmp_path: Path) -> None:
    path, marker = spinning_file(tmp_path)
    proc = started_check(learner, path, "--timeout", "120")
    pgid = None
    try:
        assert wait_for(lambda: marker.exists() and " " in marker.read_text(), 60), "never started"
        pgid, folder = int(marker.read_text().split()[0]), Path(marker.read_text().split()[1])
        assert wait_for(lambda: len(group_members(pgid)) >= 2, 10) and folder.is_dir()
        proc.kill()
        proc.wait()
        assert wait_for(lambda: not group_members(pgid), 2.0), f"still running: {group_members(pgid)}"
        assert wait_for(lambda: not folder.exists(), 2.0), "the run's temp folder was left behind"
    finally:
        if pgid is not None and group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        with connect(admin_url(learner)) as conn:
            sweep_orphans(conn, max_age=-60)  # the killed run's schema, as the next check would


def test_a_stopped_drill_does_not_leave_the_child_spinning(learner: Learner, tmp_path: Path) -> None:
    path, marker = spinning_file(tmp_path)
    # 2 s: the file must have started (and written its marker) before the deadline, on a busy host too.
    proc = started_check(learner, path, "--timeout", "2")
    pgid = None
    try:
        assert wait_for(lambda: marker.exists() and " " in marker.read_text(), 60), "never started"
        pgid = int(marker.read_text().split()[0])
        proc.send_signal(signal.SIGSTOP)
        # The child's own deadline: --timeout plus a grace second, whatever the parent does.
        assert wait_for(lambda: not group_members(pgid), 5.0), f"still running: {group_members(pgid)}"
        proc.send_signal(signal.SIGCONT)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 1 and "Traceback" not in stdout + stderr, stderr
        assert "still running after 2 seconds" in first_failure(json.loads(stdout))["rationale"]
    finally:
        proc.send_signal(signal.SIGCONT)
        if pgid is not None and group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        with connect(admin_url(learner)) as conn:
            sweep_orphans(conn, max_age=-60)


def test_a_fork_bomb_is_killed_with_the_group_and_reported(learner: Learner, tmp_path: Path) -> None:
    marker = tmp_path / "pgid"
    path = write(
        tmp_path,
        "bomb.py",
        f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpgid(0)))\n"
        "for _ in range(5):\n    os.fork()\ntime.sleep(600)\n",
    )
    report = check(learner, path, "--timeout", "2")
    assert "still running after 2 seconds" in first_failure(report)["rationale"]
    pgid = int(marker.read_text())
    assert wait_for(lambda: not group_members(pgid), 2.0), f"still running: {group_members(pgid)}"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def assert_gone(pid: int, seconds: float) -> None:
    """`pid` (a process of a finished run) ends within `seconds`; killed here either way."""
    try:
        assert wait_for(lambda: not _alive(pid), seconds), f"process {pid} outlived its run"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("ending", ["returns", "runs past its timeout"])
def test_a_process_that_left_the_group_does_not_outlive_the_run(
    learner: Learner, tmp_path: Path, ending: str
) -> None:
    """setsid() takes a grandchild out of the run's process group, so a group kill misses it;
    the guard (the run's subreaper) finds it below itself and kills it all the same."""
    marker = tmp_path / "escaped"
    after = "time.sleep(600)\n" if ending == "runs past its timeout" else ""
    path = write(
        tmp_path,
        "escape.py",
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        f"while not os.path.exists({str(marker)!r}):\n    time.sleep(0.01)\n" + after,
    )
    check(learner, path, "--timeout", "2")
    assert_gone(int(marker.read_text()), 2.0)


@pytest.mark.parametrize("ending", ["returns", "runs past its timeout"])
def test_a_process_that_keeps_forking_away_does_not_outlive_the_run(
    learner: Learner, tmp_path: Path, ending: str
) -> None:
    """A process in a session of its own that forks and exits over and over is never in the
    same place twice: each list of processes the guard reads is out of date at once. The
    guard chases it until it has no child left (found by a trial: it escaped 6 runs of 6)."""
    beat = tmp_path / "heartbeat"
    after = "time.sleep(600)\n" if ending == "runs past its timeout" else "time.sleep(0.3)\n"
    path = write(
        tmp_path,
        "hopper.py",
        "import os, time\n"
        "end = time.time() + 20\n"  # bounded, should the test fail
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    n = 0\n"
        "    while time.time() < end:\n"
        "        if os.fork():\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "        if n % 20 == 0:\n"
        f"            open({str(beat)!r}, 'w').write(str(time.time()))\n"
        "    os._exit(0)\n"
        f"while not os.path.exists({str(beat)!r}) and time.time() < end:\n"  # the hopper runs
        "    time.sleep(0.01)\n" + after,
    )
    for timeout in ("1", "5"):  # a loaded machine may time the run out before the hopper ran
        check(learner, path, "--timeout", timeout)
        if beat.exists():
            break
    time.sleep(0.3)  # a survivor beats many times a second
    last = beat.stat().st_mtime if beat.exists() else None
    time.sleep(0.6)
    now = beat.stat().st_mtime if beat.exists() else None
    assert last is not None, "the hopper never ran"
    assert now == last, "a process of the run is still forking after the check"


@pytest.mark.parametrize("how", ["kills", "stops", "stops, server off"])
def test_a_process_of_a_run_whose_guard_was_killed_does_not_outlive_it(
    learner: Learner, tmp_path: Path, how: str
) -> None:
    """Learner code runs as the guard's user and can kill (or stop) the guard itself; a
    process of its own in another session then escapes the group kill. A killed guard's
    orphans go to the check server's zygote, a subreaper too, which kills them; a stopped
    guard is woken to do its work, with or without the server (found by a trial)."""
    marker = tmp_path / "sleeper"
    sig = "SIGKILL" if how == "kills" else "SIGSTOP"
    if how.endswith("server off"):
        learner.env["DRILL_CHECK_SERVER"] = "off"
    path = write(
        tmp_path,
        "killer.py",
        "import os, signal, subprocess, time\n"
        "p = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        f"os.kill(os.getppid(), signal.{sig})\n"
        "time.sleep(600)\n",
    )
    # A stopped guard is woken only by the timeout, so it is short; on a loaded machine the
    # learner's code may not even have started by then, which proves nothing: try once more.
    for timeout in ("1", "5"):
        check(learner, path, "--timeout", timeout)
        if marker.exists():
            break
    assert_gone(int(marker.read_text()), 5.0)


def test_the_guard_stops_chasing_only_when_it_has_no_child_left() -> None:
    """The chase's invariant, without the race: a walk that comes back empty while a child of
    the guard still lives (a hopper between two homes looks just like that) is not the end."""
    script = (
        "import os, subprocess\n"
        "from drillkit.run import guard\n"
        "child = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        "real, calls = guard.descendants, []\n"
        "def walk(root):\n"
        "    calls.append(root)\n"
        "    return [] if len(calls) == 1 else real(root)\n"  # the first walk misses it
        "guard.descendants = walk\n"
        "guard._kill_descendants()\n"
        "try:\n"
        "    os.kill(child.pid, 0)\n"  # reaped by the chase: no such process any more
        "    print('alive', len(calls)); child.kill()\n"
        "except ProcessLookupError:\n"
        "    print('gone', len(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    status, walks = out.stdout.split()
    assert status == "gone" and int(walks) >= 2, out.stdout


def test_the_guard_finds_every_process_below_it_also_a_thread_s_child() -> None:
    """`descendants` walks /proc's children lists (every thread's: a learner thread may fork)
    and must find exactly what a scan of all of /proc finds: a child, a grandchild, and a
    child forked from a thread."""
    from drillkit.run import guard

    script = (
        "import os, subprocess, sys, threading, time\n"
        "kids = [subprocess.Popen(['sleep', '30'])]\n"
        "t = threading.Thread(target=lambda: kids.append(subprocess.Popen(['sleep', '30'])))\n"
        "t.start(); t.join()\n"  # the thread ends: its child is listed under the main thread
        "def forker():\n"
        "    kids.append(subprocess.Popen(['sleep', '30']))\n"
        "    time.sleep(30)\n"  # this thread lives on, its child listed under it
        "threading.Thread(target=forker, daemon=True).start()\n"
        "time.sleep(0.3); print('ready', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        ["/bin/sh", "-c", f'{sys.executable} -c "$0" & wait', script], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        walked = sorted(guard.descendants(proc.pid))
        assert walked == sorted(guard._descendants_by_scan(proc.pid))
        assert len(walked) == 4, walked  # python, and its three sleeps
    finally:
        for pid in guard._descendants_by_scan(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


# --- OS limits --------------------------------------------------------------------------------


def test_the_learner_runs_under_os_limits(learner: Learner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "limits.py",
        "import json, resource\nprint(json.dumps({name: resource.getrlimit(getattr(resource, name)) "
        "for name in ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_CORE')}))\n",
    )
    report = check(learner, path, "--timeout", "3")
    limits = json.loads(report["output"])
    assert limits["RLIMIT_AS"][0] == 1 * GiB
    assert limits["RLIMIT_FSIZE"][0] == 8 * MiB
    assert 3 < limits["RLIMIT_CPU"][0] <= 3 + 4 and limits["RLIMIT_CPU"][1] == limits["RLIMIT_CPU"][0] + 1
    assert limits["RLIMIT_CORE"][0] == 0


def non_root_user() -> str:
    name = "drillkit-child"  # created once per machine, like a lab account; never removed (harmless)
    ensure_os_user(name, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin")
    return name


def test_a_non_root_learner_gets_a_process_limit() -> None:
    script = (
        f"import sys, resource; sys.path.insert(0, {str(REPO)!r}); from drillkit.run import limits; "
        "limits.apply(5); print(resource.getrlimit(resource.RLIMIT_NPROC)[0], limits._tasks())"
    )
    command = ["/usr/bin/python3", "-I", "-c", script]
    if os.geteuid() == 0:  # root is exempt from RLIMIT_NPROC: prove it for the learner it is for
        command = ["runuser", "-u", non_root_user(), "--", *command]
    run = subprocess.run(command, capture_output=True, text=True, cwd="/", check=True)
    soft, tasks = (int(n) for n in run.stdout.split())
    assert soft != resource.RLIM_INFINITY
    assert soft <= tasks + limits.EXTRA_PROCESSES + 100  # tasks is read a moment later


@pytest.mark.parametrize("catch", [False, True])
def test_output_written_to_fd_1_is_capped(learner: Learner, tmp_path: Path, catch: bool) -> None:
    size_file = tmp_path / "size"
    write_call = "os.write(1, chunk)"
    if catch:  # swallowing the error does not make the run count
        write_call = f"try:\n        {write_call}\n    except OSError:\n        pass"
    path = write(
        tmp_path,
        "loud.py",
        f"import os\nchunk = b'x' * (1024 * 1024)\nopen({str(size_file)!r}, 'w').write('started')\n"
        f"for _ in range(24):\n    {write_call}\n"
        f"open({str(size_file)!r}, 'w').write(str(os.fstat(1).st_size))\n" + SOLUTION_3,
    )
    report = check(learner, path)
    failure = first_failure(report)
    assert "output limit" in failure["rationale"], failure
    assert report["output_truncated"] is True and len(report["output"]) <= 64 * 1024
    if catch:
        assert int(size_file.read_text()) <= 8 * MiB


def test_print_past_the_output_limit_is_a_failed_check(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "print.py", "for i in range(300_000):\n    print('y' * 40)\n")
    failure = first_failure(check(learner, path))
    assert "output limit" in failure["rationale"]


def test_printing_a_lone_surrogate_is_not_an_error(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "odd.py", 'print("odd \\ud800 text")\n' + SOLUTION_3)
    result = learner.drill("check", N, "--file", str(path), "--json")
    assert result.code == 0, result.stdout
    assert "odd \ud800 text" in result.json["output"]  # exact; the terminal report escapes it
    plain = learner.drill("check", N, "--file", str(path))
    assert plain.code == 0 and "Traceback" not in plain.stdout + plain.stderr


# Never allocate gigabytes on a machine where the limit is missing (the test is then failing anyway).
NEEDS_LIMIT = (
    "import resource\nif resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:\n"
    "    raise SystemExit('no memory limit')\n"
)


@pytest.mark.parametrize(
    "allocation",
    [
        "data = bytearray(3 * 1024**3)\n",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024**2))\n",
    ],
    ids=["at-once", "growing"],
)
def test_memory_limit_is_a_failed_check_saying_so(learner: Learner, tmp_path: Path, allocation: str) -> None:
    path = write(tmp_path, "hungry.py", NEEDS_LIMIT + allocation)
    failure = first_failure(check(learner, path))
    assert failure["name"] == FIRST_CHECK
    assert "memory limit" in failure["rationale"], failure


def test_memory_limit_hit_while_a_check_calls_learner_code(learner: Learner, tmp_path: Path) -> None:
    hungry = SOLUTION_7.replace(
        "    stmt = select(Document)", "    _ = bytearray(3 * 1024**3)\n    stmt = select(Document)"
    )
    path = write(tmp_path, "hungry7.py", NEEDS_LIMIT + hungry)
    failure = first_failure(check(learner, path, drill=N_DOCS))
    assert "memory limit" in failure["rationale"], failure


def test_cpu_time_limit_is_a_failed_check_saying_so(learner: Learner, tmp_path: Path) -> None:
    # The CPU limit is the backstop of the wall-clock timeout (threads, a stuck guard); a file
    # that lowers its own soft limit reaches it first, and must be told which limit it hit.
    path = write(
        tmp_path,
        "burn.py",
        "import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_CPU)\n"
        "resource.setrlimit(resource.RLIMIT_CPU, (1, hard))\nwhile True:\n    pass\n",
    )
    failure = first_failure(check(learner, path, "--timeout", "20"))
    assert "CPU time limit" in failure["rationale"], failure


# --- forged passes ----------------------------------------------------------------------------

WRONG_3 = SOLUTION_3.replace(".order_by(Document.created_at.desc())", "")  # oldest first: wrong

PATCH_VIA_SYS_MODULES = f"""
import sys
checks = sys.modules["{CHECKS_3}"].checks.checks
for c in checks:
    object.__setattr__(c, "fn", lambda ctx: None)
"""
PATCH_VIA_IMPORTLIB = f"""
import importlib
checks = importlib.import_module("{CHECKS_3}").checks.checks
for c in checks:
    object.__setattr__(c, "fn", lambda ctx: None)
"""
PATCH_VIA_GC = """
import gc
for o in gc.get_objects():
    if type(o).__name__ == "Checks":
        for c in o.checks:
            object.__setattr__(c, "fn", lambda ctx: None)
"""
CLEAR_VIA_GC = """
import gc
for o in gc.get_objects():
    if type(o).__name__ == "Checks":
        o.checks.clear()
"""
# Write a report wherever one might go: paths found in the frames above, then every descriptor.
FORGE_TEMPLATE = """
import gc, json, os, sys
names = []
for o in gc.get_objects():
    if type(o).__name__ == "Checks":
        names = [c.name for c in o.checks if c.side == "child"]
REPORT = @REPORT@
targets = set()
frame = sys._getframe()
while frame is not None:
    for value in list(frame.f_locals.values()):
        for v in (value.values() if isinstance(value, dict) else [value]):
            if isinstance(v, str) and v.endswith(".json"):
                targets.add(v)
    frame = frame.f_back
for target in targets:
    with open(target, "w") as handle:
        handle.write(REPORT)
for fd in range(3, 100):
    try:
        os.pwrite(fd, REPORT.encode(), 0)
    except OSError:
        pass
os._exit(0)
"""
ALL_PASSED = """json.dumps({
    "results": [{"name": n, "status": "passed"} for n in ["your file runs without errors", *names]],
    "output": "", "output_truncated": False, "statements": [], "check_statements": [],
})"""
FORGE_REPORT = FORGE_TEMPLATE.replace("@REPORT@", ALL_PASSED)


@pytest.mark.parametrize(
    "attack",
    [PATCH_VIA_SYS_MODULES, PATCH_VIA_IMPORTLIB, PATCH_VIA_GC, CLEAR_VIA_GC, FORGE_REPORT],
    ids=["sys.modules", "importlib", "gc-patch", "gc-clear", "frames-and-fds"],
)
def test_known_forgery_routes_never_pass(learner: Learner, tmp_path: Path, attack: str) -> None:
    path = write(tmp_path, "forged.py", WRONG_3 + attack)
    report = check(learner, path)
    failure = first_failure(report)
    if attack in (PATCH_VIA_GC, CLEAR_VIA_GC, FORGE_REPORT):
        assert "tampering detected" in failure["rationale"], failure


IN_CHECK_PATCH = f"""
def docs_for_user(session, user_id: int) -> list[Document]:
    import sys
    for c in sys.modules["{CHECKS_7}"].checks.checks:
        object.__setattr__(c, "fn", lambda ctx: None)
    return session.query(Document).filter_by(owner_id=user_id).order_by(Document.created_at.desc()).all()
"""


def test_patching_from_a_function_the_checks_call_is_tampering(learner: Learner, tmp_path: Path) -> None:
    # The legacy session.query() fails check 3; the patch runs inside check 2, too late for the
    # import guard: the integrity seal catches it.
    path = write(tmp_path, "sneaky7.py", SOLUTION_7 + IN_CHECK_PATCH)
    failure = first_failure(check(learner, path, drill=N_DOCS))
    assert "tampering detected" in failure["rationale"], failure


LEGACY_3 = SOLUTION_3.replace(
    "docs = session.scalars(stmt).all()",
    "docs = session.query(Document).filter(Document.owner_id == 1)"
    ".order_by(Document.created_at.desc()).all()",
)
UNWRAP_QUERY = """
from sqlalchemy.orm import Session
cells = [c.cell_contents for c in Session.query.__closure__]
Session.query = next(c for c in cells if getattr(c, "__name__", "") == "query")
"""
DROP_RECORDER = """
import gc
from sqlalchemy import event
from drillkit.sandbox import engine
recorder = next(o for o in gc.get_objects() if type(o).__name__ == "Recorder")
event.remove(engine, "before_cursor_execute", recorder._on_cursor)
"""


# After the recorder, a listener that may return other SQL than the recorder saw (a learner's
# own listeners are allowed: SQLAlchemy's recipes add them, see the select pack's answers).
REWRITE_AFTER_RECORDER = """
from sqlalchemy import event
from drillkit.sandbox import engine
@event.listens_for(engine, "before_cursor_execute", retval=True)
def rewrite(conn, cursor, statement, parameters, context, executemany):
    return statement, parameters
"""
# On the Engine class a listener runs before the recorder, and on the checks' own engine too:
# one that may return other SQL could make a check's expected answer fit a wrong one.
REWRITE_ON_EVERY_ENGINE = """
from sqlalchemy import event
from sqlalchemy.engine import Engine
@event.listens_for(Engine, "before_cursor_execute", retval=True)
def rewrite(conn, cursor, statement, parameters, context, executemany):
    return statement, parameters
"""
REWRITE_ON_EVERY_CONNECTION = REWRITE_ON_EVERY_ENGINE.replace("Engine", "Connection")
REWRITE_STATEMENTS_ON_EVERY_ENGINE = """
from sqlalchemy import event
from sqlalchemy.engine import Engine
@event.listens_for(Engine, "before_execute", retval=True)
def rewrite(conn, clause, multiparams, params, execution_options):
    return clause, multiparams, params
"""
# An object that carries SQLAlchemy's non-retval wrapper code as an attribute is no wrapper.
DISGUISED_REWRITE = """
from sqlalchemy import event
from drillkit.sandbox import engine
def probe(*args): pass
event.listen(engine, "before_cursor_execute", probe)
WRAPPER = list(engine.dispatch.before_cursor_execute)[-1].__code__
event.remove(engine, "before_cursor_execute", probe)
class Rewriter:
    __code__ = WRAPPER
    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        return statement, parameters
event.listen(engine, "before_cursor_execute", Rewriter(), retval=True)
"""
# Without the row counter, a WHERE that keeps every row would look like filtering in SQL.
DROP_ROW_COUNTER = """
from sqlalchemy import event
from drillkit.sandbox import engine
for listener in list(engine.dispatch.after_cursor_execute):
    event.remove(engine, "after_cursor_execute", listener)
"""
# The checks' own sessions come from SessionLocal: configured anew, they would not be the
# sessions the checks were written for (here: objects kept readable after a commit).
RECONFIGURE_FACTORY = """
from drillkit.sandbox import SessionLocal
SessionLocal.configure(expire_on_commit=False)
"""
# With its events off, an engine runs no listener at all, the sealed ones included.
EVENTS_OFF = """
from drillkit.sandbox import engine
engine._has_events = False
"""
# Before the ORM recorder, a listener could change what it sees (the session, the statement).
BEFORE_ORM_RECORDER = """
from sqlalchemy import event
from sqlalchemy.orm import Session
event.listen(Session, "do_orm_execute", lambda state: None, insert=True)
"""


@pytest.mark.parametrize(
    ("attack", "why"),
    [
        (UNWRAP_QUERY, "was changed"),
        (DROP_RECORDER, "the SQL recorder on the sandbox engine was changed (it was removed"),
        (REWRITE_AFTER_RECORDER, "retval=True"),
        (REWRITE_ON_EVERY_ENGINE, "the SQL recorder on the sandbox engine was changed (a listener was added"),
        (REWRITE_STATEMENTS_ON_EVERY_ENGINE, "statement listeners on the sandbox engine was changed"),
        (REWRITE_ON_EVERY_CONNECTION, "SQL listeners on every connection was changed"),
        (DISGUISED_REWRITE, "retval=True"),
        (BEFORE_ORM_RECORDER, "the ORM recorder on Session was changed (a listener was added that runs"),
        (DROP_ROW_COUNTER, "the row counter on the sandbox engine was changed (it was removed"),
        (EVENTS_OFF, "drillkit.sandbox.engine._has_events was changed"),
    ],
    ids=[
        "unwrap-query",
        "drop-recorder",
        "rewrite-after-recorder",
        "rewrite-on-every-engine",
        "rewrite-statements-on-every-engine",
        "rewrite-on-every-connection",
        "disguised-rewrite",
        "before-orm-recorder",
        "drop-row-counter",
        "events-off",
    ],
)
def test_blinding_the_recorder_is_tampering(learner: Learner, tmp_path: Path, attack: str, why: str) -> None:
    # session.query() fails "written with select()" unless the recorder stops seeing it.
    path = write(tmp_path, "blind.py", attack + LEGACY_3)
    failure = first_failure(check(learner, path))
    assert "tampering detected" in failure["rationale"] and why in failure["rationale"], failure


def _practice_answer(slug: str, name: str) -> str:
    """A known answer of the built-in practice pack's drill `slug`, as a learner file's text."""
    practice = load_source(next(s for s in builtin_sources() if s.id == "practice"), None)
    return (practice.get(slug).folder / "answers" / name).read_text(encoding="utf-8")


# The async pair is built on first use, after the seal, and sealed as it is built: the
# recorder's listeners on it, its session factory, its engine's events, the names themselves.
# Unsealed, each of these let one query per document pass the async drill's "each owner can
# be read" check.
ASYNC_ATTACKS = {
    "blind-recorder": (
        """
import gc
from sqlalchemy import event
from drillkit import sandbox
recorder = next(o for o in gc.get_objects() if type(o).__name__ == "Recorder")
event.remove(sandbox.async_engine.sync_engine, "before_cursor_execute", recorder._on_cursor)
""",
        "the SQL recorder on the async engine was changed",
    ),
    "set-the-name": (
        """
from sqlalchemy.ext.asyncio import async_sessionmaker
from drillkit import sandbox
sandbox.AsyncSessionLocal = async_sessionmaker(sandbox.make_async_engine(sandbox._URL, sandbox._SCHEMA))
""",
        "module drillkit.sandbox.AsyncSessionLocal was set by the drill file, not built by drillkit",
    ),
    "build-without-the-hook": (
        """
from drillkit import sandbox
hook, sandbox._on_async_engine = sandbox._on_async_engine, None
sandbox.AsyncSessionLocal
sandbox._on_async_engine = hook
""",
        "was set by the drill file, not built by drillkit",
    ),
    "events-off": (
        """
from drillkit.sandbox import async_engine
async_engine.sync_engine._has_events = False
""",
        "drillkit.sandbox.async_engine.sync_engine._has_events was changed",
    ),
}


# The checks' own sessions come from the sandbox's factories: reconfigured, they would not be
# the sessions the checks were written for (here: objects kept readable after a commit; the
# async checks' sessions on an engine of the file's own, which nothing records). A plain
# setting, not an attack: the failure says what to do instead, without crying tampering.
REBIND_ASYNC_FACTORY = """
import os
from sqlalchemy.ext.asyncio import create_async_engine
from drillkit.sandbox import AsyncSessionLocal
url = "postgresql+psycopg://" + os.environ["DRILL_SANDBOX_URL"].split("://", 1)[1]
options = {"options": "-c search_path=" + os.environ["DRILL_SANDBOX_SCHEMA"]}
AsyncSessionLocal.configure(bind=create_async_engine(url, connect_args=options))
"""


@pytest.mark.parametrize(
    ("drill_ref", "wrong", "code", "said"),
    [
        (N, None, RECONFIGURE_FACTORY, "'expire_on_commit' in the settings of drillkit.sandbox.SessionLocal"),
        (
            "practice:async_session",
            "fail_refreshes_each_owner.py",
            REBIND_ASYNC_FACTORY,
            "'bind' in the settings of drillkit.sandbox.AsyncSessionLocal",
        ),
    ],
    ids=["sync", "async"],
)
def test_reconfiguring_the_checks_session_factory_fails_saying_what_to_do_instead(
    learner: Learner, tmp_path: Path, drill_ref: str, wrong: str | None, code: str, said: str
) -> None:
    # LEGACY_3: a wrong answer that the checks' own sessions would not change
    start = LEGACY_3 if wrong is None else _practice_answer(drill_ref.split(":")[1], wrong)
    failure = first_failure(
        check(learner, write(tmp_path, "configured.py", start + "\n" + code), drill=drill_ref)
    )
    assert failure["rationale"] == f"your file changed {said}, which the checks make their own sessions with"
    assert "session factory of your own" in failure["help"] and "tampering" not in failure["rationale"]


@pytest.mark.parametrize("attack", list(ASYNC_ATTACKS))
def test_blinding_the_recorder_on_the_async_pair_is_tampering(
    learner: Learner, tmp_path: Path, attack: str
) -> None:
    one_query_each = _practice_answer("async_session", "fail_refreshes_each_owner.py")
    code, why = ASYNC_ATTACKS[attack]
    path = write(tmp_path, "blind_async.py", one_query_each + "\n" + code)
    failure = first_failure(check(learner, path, drill="practice:async_session"))
    assert failure["rationale"].startswith("tampering detected: ") and why in failure["rationale"], failure


STEAL_TOKEN = """
import os
for fd in range(3, 100):
    try:
        os.set_blocking(fd, False)
        os.read(fd, 4096)
    except OSError:
        pass
"""


def test_a_stolen_token_is_tampering(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "thief.py", STEAL_TOKEN + SOLUTION_3)
    failure = first_failure(check(learner, path))
    assert "tampering detected" in failure["rationale"], failure


@pytest.mark.parametrize(
    "payload",
    [
        "{not json",
        '{"results": [], "statements": [], "check_statements": [], "surprise": 1}',
        '{"results": [{"name": "your file runs without errors", "status": "forged"}], '
        '"statements": [], "check_statements": []}',
    ],
    ids=["bad-json", "unknown-key", "unknown-status"],
)
def test_a_malformed_report_is_tampering_not_a_traceback(
    learner: Learner, tmp_path: Path, payload: str
) -> None:
    attack = FORGE_TEMPLATE.replace("@REPORT@", repr(payload))
    path = write(tmp_path, "malformed.py", SOLUTION_3 + attack)
    failure = first_failure(check(learner, path))
    assert "tampering detected" in failure["rationale"], failure


def test_learner_code_sees_no_descriptors_or_secrets(learner: Learner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "look.py",
        "import json, os, sys\nprint(json.dumps({'argv': sys.argv, "
        "'env': sorted(k for k in os.environ if k.startswith('DRILL'))}))\n",
    )
    seen = json.loads(check(learner, path)["output"])
    assert seen == {"argv": [str(path)], "env": ["DRILL_SANDBOX_SCHEMA", "DRILL_SANDBOX_URL"]}


# --- the report is untrusted input ------------------------------------------------------------

TOKEN = "ab" * 16
NAMES = ["first", "second"]


def report(**overrides: object) -> bytes:
    data: dict[str, object] = {
        "token": TOKEN,
        "results": [
            {"name": FIRST_CHECK, "status": "passed"},
            {"name": "first", "status": "passed", "note": None},
            {"name": "second", "status": "failed", "rationale": "why", "actual": "got"},
        ],
        "statements": ["SELECT 1"],
        "check_statements": [],
    }
    data.update(overrides)
    return json.dumps(data).encode()


def test_a_well_formed_report_is_accepted() -> None:
    outcome = protocol.parse_result(report(), TOKEN, NAMES)
    assert [r.status for r in outcome.results] == ["passed", "passed", "failed"]
    assert outcome.statements == ["SELECT 1"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b"[]",
        report(token="cd" * 16),
        report(token=None),
        report(surprise=1),
        report(results=[{"name": FIRST_CHECK, "status": "passed", "extra": 1}]),
        report(results=[{"name": FIRST_CHECK, "status": "forged"}]),
        report(results=[{"name": FIRST_CHECK, "status": ["passed"]}]),
        report(results=[{"name": 5, "status": "passed"}]),
        report(results=[{"name": FIRST_CHECK}]),
        report(results="all passed"),
        report(results=[{"name": FIRST_CHECK, "status": "passed"}, {"name": "first", "status": "passed"}]),
        report(
            results=[
                {"name": FIRST_CHECK, "status": "passed"},
                {"name": "second", "status": "passed"},
                {"name": "first", "status": "passed"},
            ]
        ),
        report(
            results=[
                {"name": FIRST_CHECK, "status": "failed"},
                {"name": "first", "status": "passed"},
                {"name": "second", "status": "passed"},
            ]
        ),
        report(statements="SELECT 1"),
        report(statements=[1]),
        report(check_statements=[{"sql": "x"}]),
        report(statements=["x" * (protocol.RESULT_LIMIT + 1)]),
    ],
    ids=lambda raw: raw[:60].decode(errors="replace"),
)
def test_a_malformed_report_is_refused(raw: bytes) -> None:
    with pytest.raises(UntrustedResult):
        protocol.parse_result(raw, TOKEN, NAMES)


def test_without_sealed_checks_nothing_may_pass() -> None:
    crash = report(results=[{"name": FIRST_CHECK, "status": "failed", "rationale": "drillkit failed"}])
    assert protocol.parse_result(crash, TOKEN, None).results[0].status == "failed"
    with pytest.raises(UntrustedResult):
        protocol.parse_result(report(results=[{"name": FIRST_CHECK, "status": "passed"}]), TOKEN, None)


def test_a_lone_surrogate_in_a_report_is_kept_exact() -> None:
    raw = report(
        results=[
            {"name": FIRST_CHECK, "status": "failed", "actual": "\ud800"},
            {"name": "first", "status": "skipped"},
            {"name": "second", "status": "skipped"},
        ]
    )
    assert protocol.parse_result(raw, TOKEN, NAMES).results[0].actual == "\ud800"  # render escapes it


# --- the guard --------------------------------------------------------------------------------

GUARDED = """
import os, sys, time
from drillkit.run import guard
seal_fd = guard.split(int(sys.argv[4]), int(sys.argv[1]), (), folder="/nonexistent/drillkit-test")
guard.tell(seal_fd, timeout=float(sys.argv[2]), checks=["check %d" % i for i in range(200)], cpu_seconds=7)
if sys.argv[3] == "exit":
    os._exit(3)
time.sleep(600)
"""


def guarded(timeout: float, then: str) -> tuple[subprocess.Popen[bytes], int, int]:
    """A guard over a worker that exits or sleeps; the status pipe's read end and the
    lifeline's write end (the owner is alive while it is open)."""
    status_r, status_w = os.pipe()
    lifeline_r, lifeline_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", GUARDED, str(status_w), str(timeout), then, str(lifeline_r)],
        pass_fds=(status_w, lifeline_r),
        start_new_session=True,
    )
    os.close(status_w)
    os.close(lifeline_r)
    return proc, status_r, lifeline_w


def read_status(status_r: int) -> dict:
    with os.fdopen(status_r, "rb") as pipe:
        return json.loads(pipe.read())


def test_the_guard_reports_the_sealed_checks_even_when_the_worker_exits_at_once() -> None:
    for _ in range(10):  # the seal and the worker's exit arrive together: both must be read
        proc, status_r, lifeline_w = guarded(5, "exit")
        status = read_status(status_r)
        proc.wait(timeout=30)
        os.close(lifeline_w)
        assert status["checks"] == [f"check {i}" for i in range(200)]
        assert (status["exit"], status["cpu_limit"], status["deadline"]) == (3, 7, False)


def test_the_guard_keeps_the_deadline_and_kills_the_group() -> None:
    proc, status_r, lifeline_w = guarded(0.3, "sleep")
    started = time.monotonic()
    status = read_status(status_r)  # EOF: the guard has written and killed its group
    os.close(lifeline_w)
    assert status["deadline"] is True
    assert time.monotonic() - started < 5
    proc.wait(timeout=5)
    assert wait_for(lambda: not group_members(proc.pid), 2.0)


def test_the_guard_kills_the_group_when_its_owner_lets_go_of_the_lifeline() -> None:
    proc, status_r, lifeline_w = guarded(60, "sleep")
    assert wait_for(lambda: len(group_members(proc.pid)) == 2, 5.0)  # guard and worker
    started = time.monotonic()
    os.close(lifeline_w)  # the owner is done or dead: a pipe needs no parent-child tie
    proc.wait(timeout=5)
    os.close(status_r)
    assert time.monotonic() - started < 3  # long before the run's own 60 s deadline
    assert wait_for(lambda: not group_members(proc.pid), 2.0)


def test_a_file_that_empties_the_run_s_environment_still_fails_its_checks_and_is_recorded(
    learner: Learner, tmp_path: Path
) -> None:
    """The checker reads the run's URL and schema before the learner's code runs: deleting
    them afterwards crashed the checker, and a crashed checker's run is not recorded."""
    wipe = "import os\nfor name in [n for n in os.environ if n.startswith('DRILL_')]:\n"
    wipe += "    del os.environ[name]\n"
    path = write(tmp_path, "wipe.py", SOLUTION_3 + "\ndocs = []\n" + wipe)
    report = check(learner, path)
    statuses = {r["status"] for r in report["results"]}
    assert "error" not in statuses and "failed" in statuses, report["results"]
    progress = json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text())
    assert progress["packs"][PACK.id]["drills"][SELECT.slug]["attempts"] == 1


def test_libpq_settings_the_file_makes_do_not_reach_the_checks_own_connections(
    learner: Learner, tmp_path: Path
) -> None:
    """libpq reads PG* variables at every connect, and the checks connect after the file
    ran: a German date style set by the learner's function made the checks' timestamps
    unreadable, a crashed checker's run. A correct answer that sets it passes."""
    sets_it = (  # after a first query: the file's own pooled connection keeps ISO dates
        "\nimport os\nfrom drillkit.sandbox import engine\nfrom sqlalchemy import text\n"
        "with engine.connect() as conn:\n    conn.execute(text('SELECT 1'))\n"
        "os.environ['PGDATESTYLE'] = 'German'\n"
    )
    path = write(tmp_path, "pg.py", SOLUTION_7 + sets_it)
    done = learner.drill("check", N_DOCS, "--file", str(path), "--json")
    assert done.code == 0, [(r["name"], r["status"], r["rationale"]) for r in done.json["results"]]


def test_files_of_the_run_folder_swapped_by_the_learner_are_never_waited_on(
    learner: Learner, tmp_path: Path
) -> None:
    """The run's folder is the learner's $TMPDIR: what drill reads back from it by name (the
    check that was running) or writes there is never followed into a FIFO or a folder. A
    FIFO hung `drill check` past its --timeout; a folder made the checker's error of it."""
    fifos = (
        "import os, time\nd = os.environ['TMPDIR']\nos.mkfifo(os.path.join(d, 'status.txt'))\n"
        "os.unlink(os.path.join(d, 'output.txt')); os.mkfifo(os.path.join(d, 'output.txt'))\n"
    )
    hangs = write(tmp_path, "hangs.py", SOLUTION_3 + "\n" + fifos + "time.sleep(60)\n")
    started = time.monotonic()
    report = check(learner, hangs, "--timeout", "2")
    assert "still running after 2 seconds" in first_failure(report)["rationale"]
    assert time.monotonic() - started < 20
    folder = "import os\nos.makedirs(os.path.join(os.environ['TMPDIR'], 'status.txt'))\n"
    wrong = write(tmp_path, "wrong.py", SOLUTION_3 + "\ndocs = []\n" + folder)
    statuses = {r["status"] for r in check(learner, wrong)["results"]}
    assert "error" not in statuses and "failed" in statuses


def test_every_sealed_listener_list_can_be_read() -> None:
    """A list the seal cannot read is sealed as "missing" and compared with "missing": it
    guards nothing (the transaction listeners' entry read a dialect event off the engine)."""
    code = (
        "from drillkit.run import harness\n"
        "from drillkit import sandbox\n"
        "from drillkit.check.recorder import Recorder\n"
        "Recorder().install(sandbox.engine)\n"
        "for where, watched in harness._instruments().items():\n"
        "    tuple(watched.read())  # raises if the list is not where it is looked for\n"
    )
    env = {**os.environ, "DRILL_SANDBOX_URL": "postgresql://x@/y", "DRILL_SANDBOX_SCHEMA": "s"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
