"""Hostile or unlucky learner code: privileges, interrupts, concurrency. Nothing leaks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from drillkit.checkserver.address import stop_all
from drillkit.db import control
from drillkit.db import server as database
from drillkit.paths import resolve_paths
from drillkit.run.space import connect, list_run_schemas
from tests.conftest import Learner, builtin_pack

REPO = Path(__file__).resolve().parent.parent
PACK = builtin_pack()
SELECT = PACK.get("select")  # checked against the seeded tables: a run schema with rows in it
N = str(SELECT.number)
SOLUTION = str(SELECT.solution_path)

ESCAPE = """
import os
from sqlalchemy import create_engine, text
from drillkit.sandbox import engine

other = os.environ["OTHER_SCHEMA"]
attempts = {
    "read public": "SELECT * FROM public.drill_test_secret",
    "create in public": "CREATE TABLE public.evil (id int)",
    "drop public": "DROP SCHEMA public CASCADE",
    "read another run": f'SELECT * FROM "{other}".documents',
    "drop another run": f'DROP SCHEMA "{other}" CASCADE',
    "create role": "CREATE ROLE evil",
    "create database": "CREATE DATABASE evil",
}
auto = engine.execution_options(isolation_level="AUTOCOMMIT")
for what, sql in attempts.items():
    try:
        with auto.connect() as conn:
            conn.execute(text(sql))
        print(what, "ALLOWED")
    except Exception as exc:
        print(what, "denied", getattr(exc.orig, "sqlstate", None))
"""


def admin_url(learner: Learner) -> str:
    return database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)})).libpq_url


def test_learner_role_is_confined_to_its_schema(learner: Learner, tmp_path: Path) -> None:
    url = admin_url(learner)
    other = "drill_run_9999999999_1_feed00"  # looks like another learner's live run
    with connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.drill_test_secret (answer int)")
        conn.execute(f'CREATE SCHEMA "{other}"; CREATE TABLE "{other}".documents (id int)'.encode())
    try:
        path = tmp_path / "escape.py"
        path.write_text(ESCAPE, encoding="utf-8")
        result = learner.drill("check", N, "--file", str(path), "--json", OTHER_SCHEMA=other)
        printed = result.json["output"]
        lines = dict(line.rsplit(" ", 1) for line in printed.strip().splitlines())
        assert "ALLOWED" not in printed, printed
        # 42501 insufficient_privilege; CREATE DATABASE may also be refused as 42501.
        assert set(lines.values()) == {"42501"}, printed
        assert len(lines) == 7
        # The tool is still healthy afterwards.
        ok = learner.drill("check", N, "--file", SOLUTION)
        assert ok.code == 0
        with connect(url) as conn:
            assert conn.execute(f'SELECT count(*) FROM "{other}".documents').fetchone() == (0,)
            assert conn.execute("SELECT to_regclass('public.evil')").fetchone() == (None,)
    finally:
        with connect(url) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE'.encode())
            conn.execute("DROP TABLE IF EXISTS public.drill_test_secret")


# A view named like the drill's table, over a function of the learner's: whoever reads the
# table runs the function, and with it whatever the learner wrote.
TROJAN = """
ALTER TABLE documents RENAME TO documents_real;
CREATE FUNCTION trojan() RETURNS SETOF documents_real LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        RESET ROLE;  -- whatever role the reader took on: back to its session's own
        -- A superuser may write files as the server's OS user, in a read-only transaction too.
        COPY (SELECT session_user) TO 'WHERE/who';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    BEGIN
        EXECUTE 'CREATE ROLE drill_test_trojan';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN QUERY SELECT * FROM documents_real;
END $$;
CREATE VIEW documents AS SELECT * FROM trojan();
"""


def test_a_database_check_reads_the_learner_s_tables_as_the_run_role(learner: Learner) -> None:
    """Drillkit's own connection is a superuser's on the embedded server. Reading a learner's
    view must not run the learner's function with that power, not even after `RESET ROLE`:
    the database checks read on a session of the run role's own. (A drill that does not
    allow views and functions fails such a run before reading; this is the reader itself.)"""
    from drillkit.check.database import DatabaseView
    from drillkit.run.space import create_space, reader, release_space, shut_out

    insert = PACK.get("insert")  # its database checks read `documents`
    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    where = Path(tempfile.mkdtemp(prefix="drillkit-test-trojan-"))
    where.chmod(0o777)  # as root, the server runs as another OS user
    space = create_space(db, insert.fixture)
    try:
        with connect(space.learner_url) as mine:  # as learner code would, with the run's URL
            mine.execute(f'SET search_path TO "{space.schema}"'.encode())
            mine.execute(TROJAN.replace("WHERE", str(where)).encode())
        with reader(space) as conn:
            shut_out(space, conn.info.backend_pid)
            rows = DatabaseView(conn, space.schema).rows("SELECT count(*) FROM documents")
        assert rows and rows[0][0] > 0, "the view was read"
        assert not (where / "who").exists(), "the learner's function wrote a file as the server"
        made = space.conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'drill_test_trojan'")
        assert made.fetchone() == (0,), "the learner's function ran with drillkit's own privileges"
    finally:
        release_space(db, space)
        with connect(admin_url(learner)) as conn:
            conn.execute("DROP ROLE IF EXISTS drill_test_trojan")
        shutil.rmtree(where, ignore_errors=True)


# Each a wrong answer to the insert drill (a row titled "wrong", owned by user 2) plus
# something in the run schema that changes what the checks' plain SQL means.
WRONG_INSERT = """
from sqlalchemy import text
from drillkit.sandbox import engine

with engine.begin() as c:
    c.execute(text("INSERT INTO documents (title, body, owner_id) VALUES ('wrong', 'x', 2)"))
    c.execute(text(SQL))
print(4242)
"""
FORGERIES = {
    # The one that passed before: the checks read the view's made-up row.
    "view": "ALTER TABLE documents RENAME TO documents_real; CREATE VIEW documents AS "
    "SELECT id, title, body, owner_id, created_at FROM documents_real WHERE owner_id <> 2 "
    "UNION ALL SELECT 4242, 'Q2 Report', 'x', 1, now()",
    "operator": "CREATE FUNCTION yes(varchar, varchar) RETURNS boolean LANGUAGE sql AS 'SELECT true';"
    "CREATE OPERATOR = (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = yes)",
    "role setting": "ALTER ROLE CURRENT_USER SET transform_null_equals = on",
    "policy": "ALTER TABLE documents ENABLE ROW LEVEL SECURITY; ALTER TABLE documents FORCE ROW "
    "LEVEL SECURITY; CREATE POLICY hide ON documents USING (owner_id <> 2)",
    "inheritance": "CREATE TABLE more () INHERITS (documents)",
    "rule": "CREATE RULE quiet AS ON UPDATE TO documents DO INSTEAD NOTHING",
    "collation": 'CREATE COLLATION mine FROM "C"',
    # Read as the real column: a PostgreSQL 18 virtual column is computed as it is read.
    "generated": "ALTER TABLE documents RENAME COLUMN title TO stored_title; ALTER TABLE documents "
    "ADD COLUMN title varchar(200) GENERATED ALWAYS AS (CASE WHEN stored_title = 'wrong' "
    "THEN 'Q2 Report' ELSE stored_title END) STORED",
    # A trigger changes rows as they are written (here with a built-in function, which no
    # "function" finding covers): a check that adds rows of its own would not see them land.
    "trigger": "CREATE TRIGGER quiet BEFORE UPDATE ON documents FOR EACH ROW "
    "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    # Another run of the learner's (another role) could then add a view after the scan.
    "grant": "DO $$ BEGIN EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO PUBLIC', "
    "current_schema()); END $$",
}


def test_every_kind_a_drill_may_allow_has_a_forgery_above() -> None:
    from drillkit.check.framework import ALLOWABLE

    assert set(FORGERIES) | {"function"} >= ALLOWABLE  # the operator's forgery makes a function


@pytest.mark.parametrize("kind", list(FORGERIES))
def test_a_run_that_redefines_what_the_checks_sql_means_fails(
    learner: Learner, tmp_path: Path, kind: str
) -> None:
    """A learner owns the run schema, so can make a view named like the checked table, an
    `=` of their own, a policy that hides rows, ...: any such object (or a setting of the
    run role) the drill does not allow fails the run before a check reads anything."""
    insert = PACK.get("insert")
    path = tmp_path / "forged.py"
    path.write_text(WRONG_INSERT.replace("text(SQL)", f"text({FORGERIES[kind]!r})"), encoding="utf-8")
    result = learner.drill("check", str(insert.number), "--file", str(path), "--json")
    assert result.code == 1, result.stdout + result.stderr
    failure = result.json["results"][0]
    assert failure["status"] == "failed", failure
    assert "database objects or settings this drill does not ask for" in failure["rationale"], failure
    assert any(made.startswith(kind) for made in failure["actual"].split("; ")), failure["actual"]
    assert all(r["status"] == "skipped" for r in result.json["results"][1:]), "no check read anything"


def test_a_lock_the_learner_left_behind_does_not_hang_the_database_checks(
    learner: Learner, tmp_path: Path
) -> None:
    """A learner's session can outlive the learner's processes (a query of theirs still
    running on the server) and hold a lock on the table a database check reads: the run's
    sessions are ended before the checks read, which never wait for long anyway."""
    insert = PACK.get("insert")
    path = tmp_path / "lock.py"
    path.write_text(
        "import psycopg, time\n"
        "from drillkit.sandbox import engine\n"
        "url = engine.url.render_as_string(hide_password=False).replace('postgresql+psycopg', 'postgresql')\n"
        "c = psycopg.connect(url, autocommit=True)\n"
        "c.pgconn.send_query(b'BEGIN; LOCK TABLE documents IN ACCESS EXCLUSIVE MODE; '\n"
        "                    b'SELECT pg_sleep(3600)')\n"
        "c.pgconn.flush()\n"
        "time.sleep(0.5)\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    result = learner.drill("check", str(insert.number), "--file", str(path), "--json", "--timeout", "5")
    assert result.code == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 20, "the database checks waited on the learner's lock"
    assert learner.drill("check", str(insert.number), "--file", str(insert.solution_path)).code == 0


def _checks(drill):
    from drillkit.check.loader import load_checks

    return load_checks(drill.pack_id, PACK.root, drill.slug).checks


def test_learner_does_not_see_admin_credentials(learner: Learner, tmp_path: Path) -> None:
    path = tmp_path / "peek.py"
    path.write_text("import os\nprint(sorted(k for k in os.environ if k.startswith('DRILL_')))\n")
    result = learner.drill("check", N, "--file", str(path), "--json", DRILL_DATABASE_URL=admin_url(learner))
    assert result.json["output"].strip() == "['DRILL_SANDBOX_SCHEMA', 'DRILL_SANDBOX_URL']"


def harness_processes(parent: int) -> list[int]:
    """Checker children (python -m drillkit.run.guard) of the CLI process `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if "drillkit.run.guard" in cmdline and ppid == parent:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_interrupt_stops_child_and_drops_schema(
    learner: Learner, tmp_path: Path, sig: int, code: int
) -> None:
    loop = tmp_path / f"loop_{sig}.py"
    loop.write_text("from drillkit.sandbox import session\nwhile True:\n    pass\n", encoding="utf-8")
    url = admin_url(learner)

    def runs_of_drill() -> set[str]:  # this `drill`'s own run schema (check servers keep theirs)
        with connect(url) as conn:
            return {n for n in list_run_schemas(conn) if n.split("_")[3] == str(proc.pid)}

    # The CLI's own process tree (the fallback); test_check_server.py interrupts a check that
    # the check server runs.
    proc = learner.start("check", N, "--file", str(loop), "--timeout", "60", DRILL_CHECK_SERVER="off")
    deadline = time.monotonic() + 30
    while not runs_of_drill():  # wait until the run schema exists: the learner's loop is then running
        assert time.monotonic() < deadline, "the check never created its run schema"
        time.sleep(0.05)
    time.sleep(0.5)  # let the learner's module reach its loop
    children = harness_processes(proc.pid)
    assert children, "no checker child is running"
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)
    assert runs_of_drill() == set()


def test_concurrent_checks_all_work(learner: Learner) -> None:
    # Drills that write (insert, update) beside one that reads, each in its own run schema.
    select, update, insert = SELECT, PACK.get("update"), PACK.get("insert")
    jobs = [select, select, update, insert] * 2
    for drill in set(jobs):  # the learner's own copies: checks of the shipped answers are not recorded
        mine = learner.cwd / f"mine_{drill.filename}"
        mine.write_text(drill.solution_path.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")

    def run(drill) -> int:  # separate `drill` processes: two terminals at once
        return learner.process(
            "check", str(drill.number), "--file", str(learner.cwd / f"mine_{drill.filename}")
        ).code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(run, jobs)) == [0] * len(jobs)
    rows = learner.drill("list", "--json").json["drills"]
    attempts = {r["slug"]: r["attempts"] for r in rows}
    assert {d.slug: attempts[d.slug] for d in (select, insert, update)} == {
        d.slug: jobs.count(d) for d in (select, insert, update)
    }  # no lost progress update


def test_orphans_of_a_killed_run_are_swept(learner: Learner) -> None:
    from drillkit.run.space import sweep_orphans

    url = admin_url(learner)
    stale = "drill_run_1000000000_4194301_dead00"  # created in 2001 by a pid long gone
    fresh = f"drill_run_{int(time.time())}_1_live00"  # a live run elsewhere: keep it
    with connect(url) as conn:
        conn.execute(f'CREATE ROLE "{stale}"; CREATE SCHEMA "{stale}" AUTHORIZATION "{stale}"'.encode())
        conn.execute(f'CREATE SCHEMA "{fresh}"'.encode())
        conn.execute('CREATE SCHEMA IF NOT EXISTS "drill_run_notours"')
        try:
            assert sweep_orphans(conn) == [stale]
            remaining = set(list_run_schemas(conn))
            assert stale not in remaining and fresh in remaining
        finally:
            conn.execute(
                f'DROP SCHEMA IF EXISTS "{fresh}"; DROP SCHEMA IF EXISTS "drill_run_notours"'.encode()
            )


def test_embedded_server_starts_once_under_a_race(tmp_path: Path) -> None:
    if os.environ.get("DRILL_DATABASE_URL"):
        pytest.skip("uses the embedded server")
    home = tmp_path / "racehome"
    home.mkdir()
    env = {**os.environ, "DRILL_HOME": str(home), "DRILL_PROGRESS": str(tmp_path / "p.json")}
    solution = SOLUTION
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "drillkit", "check", N, "--file", solution],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        postmasters = [
            p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_postmaster_of(p, home / "pgdata")
        ]
        assert len(postmasters) == 1
    finally:
        control.stop(resolve_paths(env={"DRILL_HOME": str(home)}))


def _is_postmaster_of(proc: Path, pgdata: Path) -> bool:
    try:
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"postgres") and str(pgdata).encode() in b" ".join(cmdline)


def test_server_without_createrole_still_works(learner: Learner) -> None:
    """An external server whose user may not create roles: learner code runs as that user."""
    url = admin_url(learner)
    host = url.split("host=", 1)[1]
    with connect(url) as conn:
        # Passwords: the embedded server lets no role in without one.
        conn.execute(
            "DROP ROLE IF EXISTS drill_test_limited; CREATE ROLE drill_test_limited LOGIN PASSWORD 'pw1'"
        )
        conn.execute(
            "DROP ROLE IF EXISTS drill_test_nocreate; CREATE ROLE drill_test_nocreate LOGIN PASSWORD 'pw2'"
        )
        conn.execute("GRANT CREATE ON DATABASE postgres TO drill_test_limited")
    try:
        limited = f"postgresql://drill_test_limited:pw1@/postgres?host={host}"
        mine = learner.cwd / "mine.py"
        mine.write_text(SELECT.solution_path.read_text(encoding="utf-8"))
        result = learner.drill("check", N, "--file", str(mine), DRILL_DATABASE_URL=limited)
        assert result.code == 0, result.stdout + result.stderr
        doctor = learner.drill("doctor", DRILL_DATABASE_URL=limited)
        assert "cannot create roles" in " ".join(doctor.stdout.split())

        refused = learner.drill(
            "check",
            N,
            "--file",
            str(mine),
            DRILL_DATABASE_URL=f"postgresql://drill_test_nocreate:pw2@/postgres?host={host}",
        )
        assert refused.code == 2
        line = one_line(refused.stderr)
        assert "cannot create the run schema" in line
    finally:
        stop_all(learner.home / "locks")  # its check server holds ready schemas of these users
        with connect(url) as conn:
            conn.execute("REVOKE CREATE ON DATABASE postgres FROM drill_test_limited")
            conn.execute("DROP ROLE IF EXISTS drill_test_limited; DROP ROLE IF EXISTS drill_test_nocreate")


def _socket_open(pid: int) -> bool:
    """Whether `drill` (pid) holds a socket: its connection to the check server."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd).startswith("socket:"):
                return True
        except OSError:
            continue
    return False


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.08, 0.15, 0.3])
@pytest.mark.parametrize("server", ["off", "on"])
def test_ctrl_c_at_any_moment_is_clean(learner: Learner, tmp_path: Path, delay: float, server: str) -> None:
    """From the moment drillkit's own code runs, Ctrl-C is clean: without the check server,
    once its checker child exists; with it, once `drill` has connected to it. (Before that,
    during interpreter start-up, Python itself prints the KeyboardInterrupt.)"""
    mine = tmp_path / "mine.py"
    mine.write_text(SELECT.solution_path.read_text(encoding="utf-8"))
    if server == "on":
        assert learner.drill("check", N, "--file", str(mine)).code == 0  # the server is up
    proc = learner.start("check", N, "--file", str(mine), DRILL_CHECK_SERVER=server)
    started = harness_processes if server == "off" else _socket_open
    deadline = time.monotonic() + 30
    while not started(proc.pid) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert proc.poll() is None, "the check ended before the moment this test interrupts"
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert proc.returncode in (0, 130), (proc.returncode, stderr)  # 0: it had already finished


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_that_lands_in_a_callback_still_interrupts_and_prints_nothing(
    signum: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A signal whose handler runs inside a weakref callback (as when an import releases its
    module lock: seen once in ~10 runs of the Ctrl-C test above) has its exception swallowed
    by Python, which prints a traceback and carries on. It must interrupt all the same."""
    import weakref

    from drillkit.errors import Interrupted
    from drillkit.run.interrupts import redeliver_swallowed, signals_as_interrupts

    class Thing:
        pass

    called: list[int] = []

    def callback(_ref: object) -> None:
        called.append(1)
        os.kill(os.getpid(), signum)  # its handler runs at the next bytecode, in here
        for _ in range(100):
            pass

    thing = Thing()
    ref = weakref.ref(thing, callback)
    started = time.monotonic()
    with pytest.raises(Interrupted) as raised, redeliver_swallowed(), signals_as_interrupts():
        del thing
        time.sleep(5)  # the interrupt arrives in here, or never
        raise AssertionError(f"not interrupted; the callback ran: {called}")
    assert raised.value.signum == signum and called == [1] and ref() is None
    assert time.monotonic() - started < 4, "interrupted only once the wait was over"
    out, err = capsys.readouterr()
    assert out == err == ""
    assert signal.getsignal(signal.SIGINT) is not None  # the handlers are put back


SECOND_SIGNAL = """
import os, signal, sys
import drillkit.__main__ as entry
from drillkit.errors import Interrupted

first, second = sys.argv[1], int(sys.argv[2])
say = entry._say_error

def say_while_signalled(message):
    if second:
        os.kill(os.getpid(), second)  # another signal while the first is being reported
        for _ in range(1000):
            pass
    say(message)

def dispatch(args):
    if first == "wrapped":  # as Python 3.11 raises one that lands in a __set_name__
        raise RuntimeError("Error calling __set_name__") from KeyboardInterrupt()
    raise KeyboardInterrupt() if first == "ctrl-c" else Interrupted(int(first))

entry._say_error, entry._dispatch = say_while_signalled, dispatch
entry.main([])
"""


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (str(int(signal.SIGTERM)), int(signal.SIGTERM), 143),
        (str(int(signal.SIGHUP)), int(signal.SIGINT), 129),
        ("ctrl-c", int(signal.SIGTERM), 130),
        ("wrapped", 0, 130),
    ],
)
def test_a_second_signal_while_the_first_is_reported_changes_nothing(
    first: str, second: int, code: int
) -> None:
    """The first interrupt decides the exit code; a second one (or a third) while drillkit
    reports it and cleans up adds nothing: no traceback, no other code. An interrupt Python
    wrapped in a RuntimeError is an interrupt too."""
    proc = subprocess.run(
        [sys.executable, "-c", SECOND_SIGNAL, first, str(second)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        code,
        "drill: error: interrupted (nothing was left behind)",
    )


EARLY_CTRL_C = """
import builtins, sys
real = builtins.__import__
target = sys.argv[1]

def ctrl_c_on(name, *args, **kwargs):
    if name == target:
        raise KeyboardInterrupt  # Ctrl-C while drillkit's entry point imports this
    return real(name, *args, **kwargs)

builtins.__import__ = ctrl_c_on
from drillkit.__main__ import main
main(["list"])
"""


@pytest.mark.parametrize("module", ["drillkit.errors", "drillkit.run.interrupts"])
def test_ctrl_c_while_drill_starts_is_quiet(module: str) -> None:
    """Before drillkit's handlers are in place there is nothing to clean up: exit 130, no
    traceback (Python's own start-up, before drillkit's first line, is Python's)."""
    proc = subprocess.run(
        [sys.executable, "-c", EARLY_CTRL_C, module], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert (proc.returncode, proc.stderr) == (130, "")


def test_an_interrupt_while_a_checker_child_is_made_leaves_no_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drillkit.run import child, protocol

    def interrupted() -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(protocol, "new_token", interrupted)
    with pytest.raises(KeyboardInterrupt):
        child.Checker()
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_while_a_checker_child_is_discarded_waits_for_its_files_to_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drillkit.errors import Interrupted
    from drillkit.run import child
    from drillkit.run.interrupts import signals_as_interrupts

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    checker = child.Checker()
    kill = checker.kill

    def kill_while_interrupted() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        kill()

    monkeypatch.setattr(checker, "kill", kill_while_interrupted)
    with pytest.raises(Interrupted), signals_as_interrupts():
        checker.discard()
    assert list(tmp_path.iterdir()) == []


def _term_raises(signum: int, frame: object) -> None:
    from drillkit.errors import Interrupted

    raise Interrupted(signum)


def test_a_second_signal_while_the_check_server_cancels_keeps_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from drillkit.checkserver import client
    from drillkit.errors import Interrupted

    ours, theirs = socket.socketpair()
    theirs.close()  # the server has ended the run: the cancel's wait returns at once
    cancel = client._cancel

    def ctrl_c_mid_check(sock: object, request: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)

    def cancel_while_terminated(sock: socket.socket) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal while the run is called off
        for _ in range(1000):
            pass
        cancel(sock)

    monkeypatch.setattr(client, "connect", lambda *args, **kwargs: ours)
    monkeypatch.setattr(client.wire, "send", ctrl_c_mid_check)
    monkeypatch.setattr(client, "_cancel", cancel_while_terminated)
    previous = signal.signal(signal.SIGTERM, _term_raises)
    try:
        with pytest.raises(Interrupted) as raised:
            client.check(resolve_paths(env={}), None, SELECT, tmp_path / "mine.py", 10)  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert raised.value.signum == signal.SIGINT


def test_a_second_signal_while_validate_stops_lets_the_running_cases_end() -> None:
    """validate checks cases on threads: on Ctrl-C the waiting ones are dropped, the running
    ones end (and drop their schemas); a second Ctrl-C meanwhile must not cut that short."""
    import threading

    from drillkit.errors import Interrupted
    from drillkit.pack.validate import Case, Expectation, run_cases

    main = threading.main_thread().ident
    started: list[int] = []
    ended: list[int] = []

    def check(case: Case) -> object:
        started.append(id(case))
        if len(started) == 1:
            signal.pthread_kill(main, signal.SIGINT)
            threading.Timer(0.05, signal.pthread_kill, (main, signal.SIGINT)).start()
        time.sleep(0.3)  # the run, then its cleanup
        ended.append(id(case))
        raise RuntimeError("not judged")

    drill = SELECT
    todo = [Case(drill, "answer", drill.solution_path, Expectation(True)) for _ in range(6)]
    previous = signal.signal(signal.SIGINT, _term_raises)  # as drill's main() has it
    try:
        with pytest.raises(Interrupted):
            run_cases(todo, check, workers=2, progress=lambda result: None)
    finally:
        time.sleep(0.1)  # the second signal is in, whatever happened
        signal.signal(signal.SIGINT, previous)
    assert started and sorted(ended) == sorted(started) and len(started) < len(todo)


def test_what_the_fixture_made_is_not_counted_and_a_drill_can_allow_a_kind(
    learner: Learner, tmp_path: Path
) -> None:
    """The scan is a difference: objects a pack's fixture made are the baseline, and a drill
    that teaches views (say) allows them with `Checks(allows={"view"})`."""
    from drillkit.check import Checks
    from drillkit.pack.model import Fixture
    from drillkit.run import tamper
    from drillkit.run.space import create_space, release_space

    sql = tmp_path / "fixture.sql"
    sql.write_text(
        "CREATE TABLE t (x int); CREATE VIEW seeded AS SELECT x FROM t;"
        "CREATE FUNCTION helper() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        encoding="utf-8",
    )
    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    space = create_space(db, Fixture("with-a-view", sql=sql))
    try:
        assert ("view", "seeded") in space.baseline and ("function", "helper()") in space.baseline
        assert tamper.gained(space.baseline, tamper.scan(space.conn, space.schema, space.role)) == []
        with connect(space.learner_url) as mine:
            mine.execute(f'SET search_path TO "{space.schema}"; CREATE VIEW mine AS SELECT 1'.encode())
        after = tamper.scan(space.conn, space.schema, space.role)
        assert tamper.gained(space.baseline, after) == ["view mine"]
        assert tamper.gained(space.baseline, after, Checks(allows={"view"}).allows) == []
    finally:
        release_space(db, space)
    with pytest.raises(ValueError, match="not \\['views'\\]"):
        Checks(allows={"views"})


def test_a_run_that_changes_its_role_s_password_is_still_checked(learner: Learner, tmp_path: Path) -> None:
    """A role may change its own password, and learner code runs as the run's role: the
    database checks still log in to read what it made (the right answer passes)."""
    insert = PACK.get("insert")
    path = tmp_path / "password.py"
    path.write_text(
        insert.solution_path.read_text(encoding="utf-8")
        + "\nfrom sqlalchemy import text\n"
        + "session.execute(text(\"ALTER ROLE CURRENT_USER PASSWORD 'mine now'\"))\n"
        + "session.commit()\n",
        encoding="utf-8",
    )
    result = learner.drill("check", str(insert.number), "--file", str(path))
    assert result.code == 0, result.stdout + result.stderr


GONE = "a table or column this check reads is not there"
UNREADABLE = "this check could not read what your code left in the database"


@pytest.mark.parametrize(
    ("sql", "rationale"),
    [
        ("DROP OWNED BY CURRENT_USER CASCADE", GONE),
        ("ALTER TABLE documents RENAME TO papers", GONE),
        ("ALTER TABLE documents ALTER COLUMN title TYPE integer USING 0", UNREADABLE),
    ],
    ids=["schema", "table", "column type"],
)
def test_a_run_that_spoils_what_the_checks_read_is_the_learner_s_failure(
    learner: Learner, tmp_path: Path, sql: str, rationale: str
) -> None:
    """Not a checker error ("not your mistake, please report"): the checker is fine, the
    learner's code took away (or spoiled) what its SQL reads (found by trials)."""
    insert = PACK.get("insert")
    path = tmp_path / "dropper.py"
    path.write_text(WRONG_INSERT.replace("SQL", repr(sql)).replace("'wrong', 'x', 2", "'Q2 Report', 'x', 1"))
    result = learner.drill("check", str(insert.number), "--file", str(path), "--json")
    assert result.code == 1, result.stdout + result.stderr
    statuses = [r["status"] for r in result.json["results"]]
    assert "error" not in statuses, result.json["results"]
    failed = [r["rationale"] for r in result.json["results"] if r["status"] == "failed"]
    assert rationale in failed, failed


def test_a_column_s_facts_come_from_the_catalogs_not_from_names(learner: Learner) -> None:
    """A learner's enum or domain can be named like a type a check wants ("email(255)",
    "text"), and a default can merely mention nextval( (found by a trial): `builtin`,
    `length` and `numbered` are read from the catalogs."""
    from drillkit.check.database import DatabaseView
    from drillkit.pack.model import Fixture
    from drillkit.run.space import create_space, reader, release_space

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    space = create_space(db, Fixture("empty"))
    try:
        with connect(space.learner_url) as mine:
            mine.execute(
                f"""SET search_path TO "{space.schema}";
                CREATE TYPE "email(255)" AS ENUM ('a@b.c'); CREATE DOMAIN "text" AS pg_catalog.text;
                CREATE TABLE t (
                    fake int DEFAULT length('nextval('), ser serial, ident int GENERATED ALWAYS AS IDENTITY,
                    enum "email(255)", dom "{space.schema}"."text", arr text[], real varchar(200), plain text
                );
                CREATE UNIQUE INDEX never ON t (real) WHERE false;
                CREATE UNIQUE INDEX expr ON t (plain, (ser::text));
                CREATE UNIQUE INDEX really ON t (ser, ident)""".encode()
            )
        with reader(space) as conn:
            view = DatabaseView(conn, space.schema)
            cols, uniques = view.columns("t"), view.unique_column_sets("t")
    finally:
        release_space(db, space)
    assert {n: c.numbered for n, c in cols.items() if c.numbered} == {"ser": True, "ident": True}
    assert [n for n, c in cols.items() if not c.builtin] == ["enum", "dom", "arr"]
    assert {n: c.length for n, c in cols.items() if c.length is not None} == {"real": 200}
    assert cols["enum"].type == '"email(255)"' and cols["real"].type == "character varying(200)"
    assert uniques == [["ser", "ident"]], "an index with a WHERE or an expression makes nothing unique"


def test_once_shut_out_only_the_reader_sees_the_run_schema(learner: Learner) -> None:
    """Another process with the run's password (another run of the learner's, say) must not
    change the schema between the scan and the database checks' reads: after shut_out, the
    run's role has no session but the reader's, and cannot log in again (found by a trial)."""
    import psycopg

    from drillkit.errors import DatabaseUnavailableError
    from drillkit.pack.model import Fixture
    from drillkit.run.space import create_space, reader, release_space, shut_out

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    space = create_space(db, Fixture("empty"))
    try:
        other = connect(space.learner_url)
        with reader(space) as conn:
            shut_out(space, conn.info.backend_pid)
            with pytest.raises(psycopg.OperationalError):
                other.execute("SELECT 1")
            with pytest.raises(DatabaseUnavailableError):
                connect(space.learner_url)
            assert conn.execute("SELECT current_user").fetchone() == (space.role,)
    finally:
        other.close()
        release_space(db, space)


def test_a_run_that_uses_up_its_role_s_connections_is_still_checked(learner: Learner, tmp_path: Path) -> None:
    """Sessions still sleeping on the server after the learner's processes are gone can use up
    the run role's connection limit: the reader ends them and logs in (the right answer passes)."""
    insert = PACK.get("insert")
    path = tmp_path / "hog.py"
    path.write_text(
        insert.solution_path.read_text(encoding="utf-8") + "\nimport psycopg\n"
        "url = session.get_bind().url.render_as_string(hide_password=False)\n"
        "url = url.replace('postgresql+psycopg', 'postgresql')\n"
        "session.close()\n"
        "session.get_bind().dispose()\n"  # every slot of the role's limit goes to a sleeper
        "hogs = 0\n"
        "while hogs < 64:\n"
        "    try:\n"
        "        c = psycopg.connect(url, autocommit=True)\n"
        "    except psycopg.OperationalError:\n"
        "        break\n"
        "    c.pgconn.send_query(b'SELECT pg_sleep(3600)')\n"
        "    c.pgconn.flush()\n"
        "    hogs += 1\n"
        "assert 0 < hogs < 64, hogs\n",
        encoding="utf-8",
    )
    result = learner.drill("check", str(insert.number), "--file", str(path))
    assert result.code == 0, result.stdout + result.stderr


def test_a_run_with_more_objects_than_the_server_has_locks_is_still_dropped(learner: Learner) -> None:
    """One DROP SCHEMA ... CASCADE locks every object at once; a learner's file can make more
    (thousands of enum types) than the lock table holds, and that drop failed at every later
    sweep too (found by a trial). The objects then go a batch at a time, whatever their kind.
    (The server's "out of shared memory" is simulated: thousands of types take seconds to make.)"""
    import psycopg

    from drillkit.pack.model import Fixture
    from drillkit.run import space as spaces

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    space = spaces.create_space(db, Fixture("empty"))
    with connect(space.learner_url) as mine:
        mine.execute(
            f"""SET search_path TO "{space.schema}";
            CREATE DOMAIN d AS int; CREATE TYPE r AS RANGE (subtype = int4); CREATE TABLE t (x int, y int);
            CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE VIEW v AS SELECT 1;
            CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
            CREATE STATISTICS st ON x, y FROM t; CREATE TEXT SEARCH CONFIGURATION c (COPY = simple);
            DO $$ BEGIN FOR i IN 1..{spaces.PIECE_BATCH * 2 + 5} LOOP
                EXECUTE format('CREATE TYPE e%s AS ENUM ()', i); END LOOP; END $$""".encode()
        )

    class LockTableFull:
        """The admin connection, on a server whose lock table holds 50 objects: a DROP SCHEMA
        of a schema with more fails as a full lock table does."""

        def __init__(self, conn: psycopg.Connection) -> None:
            self.conn, self.failed = conn, False

        def execute(self, query, params=None):
            if b"DROP SCHEMA" in (query if isinstance(query, bytes) else b""):
                objects = self.conn.execute(
                    "SELECT count(*) FROM pg_depend WHERE refobjid = %s::regnamespace", (space.schema,)
                ).fetchone()[0]
                if objects > 50:
                    self.failed = True
                    raise psycopg.errors.OutOfMemory("out of shared memory")
            return self.conn.execute(query, params)

    full = LockTableFull(space.conn)
    try:
        spaces.drop_run(full, space.schema)  # type: ignore[arg-type]
    finally:
        spaces.release_space(db, space)  # a no-op once dropped
    assert full.failed
    with connect(db) as conn:
        assert space.schema not in spaces.list_run_schemas(conn)
        gone = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (space.schema,)).fetchone()
    assert gone == (0,)


def test_a_fixture_s_baseline_is_scanned_once_until_the_fixture_changes(
    learner: Learner, tmp_path: Path
) -> None:
    """A check server makes hundreds of spaces from a few fixtures: one scan per fixture file
    (and version of it), the schema's own name left out so that spaces compare alike."""
    from drillkit.pack.model import Fixture
    from drillkit.run import tamper
    from drillkit.run.space import create_space, release_space

    sql = tmp_path / "fixture.sql"
    sql.write_text("CREATE VIEW seeded AS SELECT 1;", encoding="utf-8")
    fixture = Fixture("counted", sql=sql)
    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    scans: list[str] = []
    real = tamper.scan

    def counted(conn, schema, role):
        scans.append(schema)
        return real(conn, schema, role)

    tamper.scan = counted
    made = []
    try:
        made += [create_space(db, fixture), create_space(db, fixture)]
        sql.write_text("CREATE VIEW seeded AS SELECT 1; CREATE VIEW more AS SELECT 2;", encoding="utf-8")
        made.append(create_space(db, fixture))
    finally:
        tamper.scan = real
        for space in made:
            release_space(db, space)
    first, second, third = made
    assert scans == [first.schema, third.schema]
    assert first.baseline == second.baseline and ("view", "more") in third.baseline
    assert ("role setting", f"search_path={tamper.SCHEMA}") in first.baseline


def test_the_scan_finds_every_kind_also_on_a_table_moved_into_the_schema(learner: Learner) -> None:
    """The scan finds the schema's relations through pg_depend (each depends on its schema),
    not by reading all of pg_class: a table made elsewhere and moved in is found too, and
    so is what hangs on a partition or a child table."""
    from drillkit.run import tamper
    from drillkit.run.space import create_space, release_space

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)}))
    space = create_space(db, builtin_pack().get(3).fixture)
    try:
        before = tamper.scan(space.conn, space.schema, space.role)
        space.conn.execute(
            f"""
            SET ROLE "{space.role}"; SET search_path TO "{space.schema}";
            CREATE VIEW v AS SELECT 1 AS x; CREATE MATERIALIZED VIEW m AS SELECT 1 AS x;
            CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT 1';
            CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
            CREATE RULE r AS ON INSERT TO users DO ALSO NOTHING;
            ALTER TABLE users FORCE ROW LEVEL SECURITY;
            CREATE COLLATION c FROM "C";
            CREATE TABLE parted (id int) PARTITION BY RANGE (id);
            CREATE TABLE part PARTITION OF parted FOR VALUES FROM (1) TO (10);
            CREATE POLICY on_part ON part USING (true);
            CREATE TABLE gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
            GRANT SELECT (title) ON documents TO PUBLIC;
            GRANT SELECT ON SEQUENCE users_id_seq TO PUBLIC;
            RESET ROLE; RESET search_path;
            CREATE TABLE public.moved (id int); CREATE POLICY elsewhere ON public.moved USING (true);
            ALTER TABLE public.moved SET SCHEMA "{space.schema}";
            """.encode()
        )
        gained = tamper.gained(before, tamper.scan(space.conn, space.schema, space.role))
    finally:
        release_space(db, space)
    assert gained == [
        "collation c",
        "function f(integer)",
        "generated gen.b",
        "grant SELECT on documents.title to PUBLIC",
        "grant SELECT on users_id_seq to PUBLIC",
        "inheritance part inherits from parted",
        "operator === (integer, integer)",
        "policy elsewhere on moved",
        "policy on_part on part",
        "policy row-level security on users",
        "rule r on users",
        "view m",
        "view v",
    ]


def test_run_folders_whose_owner_died_are_swept_and_no_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check server killed after its run's worker ended leaves that run's temp folder (the
    guard removes it only while the worker runs): the next service sweeps it."""
    from drillkit.run import child

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(gone.stdout)
    orphan = tmp_path / f"{child.FOLDER_PREFIX}{dead}-abc_12"
    (orphan / "deep").mkdir(parents=True)
    (orphan / "deep" / "output.txt").write_text("x")
    living = tmp_path / f"{child.FOLDER_PREFIX}{os.getpid()}-abc"
    living.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"{child.FOLDER_PREFIX}{dead}-link").symlink_to(elsewhere)  # never followed
    (tmp_path / f"drillkit-test-{dead}-x").mkdir()  # not a run folder
    assert child.sweep_orphaned_folders() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [living.name, "elsewhere", f"{child.FOLDER_PREFIX}{dead}-link", f"drillkit-test-{dead}-x"]
    )
