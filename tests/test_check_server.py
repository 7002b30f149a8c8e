"""The check server: started by `drill check`, answers warm checks, falls back, leaves nothing."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drillkit.checkserver import client
from drillkit.checkserver.address import running, stop_all
from drillkit.db import server as database
from drillkit.pack.model import Fixture
from drillkit.paths import Paths, resolve_paths
from drillkit.run.pool import SpacePool
from drillkit.run.space import RunSpace
from tests.conftest import Learner, builtin_pack, run_schemas

PACK = builtin_pack()
SELECT = PACK.get("select")
N = str(SELECT.number)


def home_paths(learner: Learner) -> Paths:
    return resolve_paths(env={"DRILL_HOME": str(learner.home)})


def status(learner: Learner) -> client.Status:
    paths = home_paths(learner)
    return client.status(paths, database.resolve(paths))


def test_a_check_starts_the_server_and_the_next_check_is_answered_by_it(learner: Learner) -> None:
    first = learner.drill("check", N, "--file", str(SELECT.solution_path))
    assert (first.code, first.stderr) == (0, ""), first.stdout
    before = status(learner)
    wrong = SELECT.answers_dir / "fail_oldest_first.py"
    second = learner.drill("check", N, "--file", str(wrong), "--json")
    assert second.code == 1 and second.json["passed"] is False
    after = status(learner)
    assert after.pid == before.pid and after.checks == before.checks + 1
    assert after.zygote and after.fallback is None
    doctor = learner.drill("doctor")
    assert f"✓ check server: running (pid {after.pid})" in doctor.stdout, doctor.stdout


def test_an_edited_drillkit_gets_a_server_of_its_own(tmp_path: Path) -> None:
    """A checkout edited in place keeps its version: the server started before the edit
    would go on with the old code, and load the packs' new checks against it."""
    package = tmp_path / "drillkit"
    (package / "run").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    module = package / "run" / "harness.py"
    module.write_text("")
    before = client._code_stamp(str(package / "__init__.py"))
    os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))
    assert client._code_stamp(str(package / "__init__.py")) != before


def test_validate_checks_through_the_running_server_and_without_it(learner: Learner, tmp_path: Path) -> None:
    """`drill validate` asks the warm check server for each file (and leaves it for the next
    check); switched off, it checks every file in processes of its own, with the same verdict.
    (A scaffolded pack: a few files of each kind; the built-in packs are validated elsewhere.)"""
    assert learner.drill("check", N, "--file", str(SELECT.solution_path)).code == 0  # the server is up
    pack = tmp_path / "pack"
    assert learner.drill("new", str(pack)).code == 0
    before = status(learner)
    result = learner.drill("validate", str(pack))
    assert result.code == 0, result.stdout + result.stderr
    files = int(re.search(r"(\d+) files? checked", result.stdout).group(1))
    after = status(learner)
    assert files >= 3 and after.pid == before.pid and after.checks == before.checks + files
    off = learner.drill("validate", str(pack), DRILL_CHECK_SERVER="off")
    assert off.code == 0 and f"{files} files checked" in off.stdout, off.stdout + off.stderr
    assert status(learner).checks == after.checks
    assert run_schemas(learner.home) == set()


@pytest.fixture
def prestarts(monkeypatch) -> list[str]:
    """Each checker child `drill check` prestarts (for a run in its own process tree)."""
    from drillkit.run import child

    made: list[str] = []
    real = child.prestart

    def recorded() -> None:
        made.append("child")
        real()

    monkeypatch.setattr(child, "prestart", recorded)
    return made


def test_off_means_no_server_even_when_one_would_be_started(learner: Learner, prestarts: list[str]) -> None:
    stop_all(learner.home / "locks")
    result = learner.drill("check", N, "--file", str(SELECT.solution_path), DRILL_CHECK_SERVER="off")
    assert (result.code, result.stderr) == (0, ""), result.stdout
    assert running(learner.home / "locks") == []
    assert prestarts == ["child"]  # its imports overlap the run's set-up
    doctor = learner.drill("doctor", DRILL_CHECK_SERVER="off")
    assert "✓ check server: switched off" in doctor.stdout, doctor.stdout
    assert running(learner.home / "locks") == []


def test_a_check_server_setting_that_is_neither_off_nor_on_is_one_line(learner: Learner) -> None:
    for args in (("check", N, "--file", str(SELECT.solution_path)), ("validate", "--drill", N)):
        result = learner.drill(*args, DRILL_CHECK_SERVER="of")
        assert result.code == 2 and result.stdout == "", result
        assert result.stderr.strip() == "drill: error: DRILL_CHECK_SERVER must be off or on, got 'of'"
    doctor = learner.drill("doctor", DRILL_CHECK_SERVER="of")
    assert "✗ check server: DRILL_CHECK_SERVER must be off or on, got 'of'" in doctor.stdout, doctor.stdout


def test_a_server_that_cannot_start_is_a_fallback_and_a_doctor_line(
    learner: Learner, tmp_path: Path, prestarts: list[str]
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # the socket's path is longer than a socket allows
    deep.mkdir(parents=True)
    env = {"DRILL_HOME": str(deep), "DRILL_DATABASE_URL": admin_url(learner)}
    result = learner.drill("check", N, "--file", str(SELECT.solution_path), **env)
    assert (result.code, result.stderr) == (0, ""), result.stdout
    assert prestarts == ["child"]
    doctor = learner.drill("doctor", **env)
    line = next(x for x in doctor.stdout.splitlines() if "check server" in x)
    assert "✗ check server: the data dir's path is too long for a Unix socket" in line, doctor.stdout
    assert "checks still work" in doctor.stdout
    stop_all(deep / "locks")


def test_a_server_that_fails_to_start_leaves_the_check_to_drill_and_the_next_one_prestarts(
    learner: Learner, tmp_path: Path, prestarts: list[str], monkeypatch
) -> None:
    """The first check expected a server, so it prestarted no child; the start fails, and
    the check runs in drill's own processes all the same. For a minute after, checks do not
    try the server again, and each prestarts its child as before the server."""

    def fails(*args: Any) -> None:
        raise client.Unavailable("it did not start (made to fail by this test)")

    monkeypatch.setattr(client, "_start", fails)
    env = {"DRILL_HOME": str(tmp_path / "home"), "DRILL_DATABASE_URL": admin_url(learner)}
    for expected in ([], ["child"]):
        result = learner.drill("check", N, "--file", str(SELECT.solution_path), **env)
        assert (result.code, result.stderr) == (0, ""), result.stdout
        assert prestarts == expected
    doctor = learner.drill("doctor", **env)
    assert "made to fail by this test" in doctor.stdout, doctor.stdout


def admin_url(learner: Learner) -> str:
    return database.resolve(home_paths(learner)).libpq_url


KILLS_THE_SERVER = """
import contextlib, os, signal
with contextlib.suppress(ProcessLookupError):  # the second time (redone by drill) it is gone
    os.kill(int(open({pidfile!r}).read()), signal.SIGKILL)  # the check server, mid-check
{solution}
"""


def test_learner_code_that_kills_the_server_gets_a_real_check(learner: Learner, tmp_path: Path) -> None:
    learner.drill("check", N, "--file", str(SELECT.solution_path))
    pidfile = tmp_path / "server.pid"
    pidfile.write_text(str(status(learner).pid))
    attack = tmp_path / "kills.py"
    solution = SELECT.solution_path.read_text(encoding="utf-8")
    attack.write_text(KILLS_THE_SERVER.format(pidfile=str(pidfile), solution=solution), encoding="utf-8")
    result = learner.drill("check", N, "--file", str(attack), "--json")
    # Redone in the CLI's own process tree: there the kill hits a pid that is gone.
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == 0 and result.json["passed"] is True, result.stdout
    assert run_schemas(learner.home) == set()
    again = learner.drill("check", N, "--file", str(SELECT.solution_path))  # a new server
    assert again.code == 0 and status(learner).pid != int(pidfile.read_text())


STOPS_THE_SERVER = """
import contextlib, os, signal
pids = [int(p) for p in open({pidfile!r}).read().split()]
if open({markfile!r}).read() == "":  # only the first time: drill redoes the run without the server
    open({markfile!r}, "w").write("stopped")
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)  # the check server and its zygote, mid-check
{solution}
"""


def test_learner_code_that_stops_the_server_gets_a_real_check_and_leaves_no_hang(
    learner: Learner, tmp_path: Path
) -> None:
    from drillkit.run.guard import children

    learner.drill("check", N, "--file", str(SELECT.solution_path))
    pid = status(learner).pid
    zygotes = [
        p for p in children(pid) or [] if b"drillkit.run.zygote" in Path(f"/proc/{p}/cmdline").read_bytes()
    ]
    assert len(zygotes) == 1
    pidfile, markfile = tmp_path / "server.pid", tmp_path / "mark"
    pidfile.write_text(f"{pid} {zygotes[0]}")
    markfile.write_text("")
    attack = tmp_path / "stops.py"
    solution = SELECT.solution_path.read_text(encoding="utf-8")
    attack.write_text(
        STOPS_THE_SERVER.format(pidfile=str(pidfile), markfile=str(markfile), solution=solution),
        encoding="utf-8",
    )
    try:
        started = time.monotonic()
        result = learner.drill("check", N, "--file", str(attack), "--json")
        assert markfile.read_text() == "stopped"
        assert result.code == 0 and result.json["passed"] is True, result.stdout + result.stderr
        assert time.monotonic() - started < 30  # not the reply's full deadline
        assert wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid))  # ended
        # Its zygote too: orphaned and stopped, it would have waited for a SIGCONT forever.
        assert wait_until(lambda: not Path(f"/proc/{zygotes[0]}").exists() or _zombie(zygotes[0]))
        again = learner.drill("check", N, "--file", str(SELECT.solution_path))  # a new server
        assert again.code == 0 and status(learner).pid != pid
    finally:
        for stopped in (pid, *zygotes):
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGCONT)


ASKS_THE_SERVER = """
import json, socket, struct
reply = b""
try:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect({socket_path!r})
        data = json.dumps({{"op": "status"}}).encode()
        sock.sendall(struct.pack(">I", len(data)) + data)
        sock.settimeout(10)
        reply = sock.recv(4096)
except ConnectionError:
    pass
print("the server said", reply)
{solution}
"""


def test_the_server_answers_no_process_of_a_run(learner: Learner, tmp_path: Path) -> None:
    """A run's processes descend from the server: it answers them nothing (else learner code
    could have it import checks of its own, in the process that checks it)."""
    learner.drill("check", N, "--file", str(SELECT.solution_path))
    paths = home_paths(learner)
    where = client.server_address(paths, database.resolve(paths)).socket
    attack = tmp_path / "asks.py"
    solution = SELECT.solution_path.read_text(encoding="utf-8")
    attack.write_text(ASKS_THE_SERVER.format(socket_path=str(where), solution=solution), encoding="utf-8")
    result = learner.drill("check", N, "--file", str(attack), "--json")
    assert result.code == 0 and "the server said b''" in result.json["output"], result.stdout
    assert status(learner).pid > 0  # it answers drill itself as before


def test_db_stop_stops_the_server_and_its_ready_schemas_go_with_it(learner: Learner) -> None:
    """Also a server that learner code stopped (SIGSTOP): it is woken to hear SIGTERM."""
    learner.drill("check", N, "--file", str(SELECT.solution_path))
    pid = status(learner).pid
    os.kill(pid, signal.SIGSTOP)
    try:
        assert stop_all(learner.home / "locks") == 1
        assert wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert run_schemas(learner.home) == set()
    assert running(learner.home / "locks") == []


def test_a_ready_space_lost_behind_the_servers_back_is_never_handed_out(learner: Learner) -> None:
    """After a Postgres restart the pool's ready spaces may be gone (their DDL need not have
    reached the disk): a check then gets a fresh space, not a schema without its tables."""
    from drillkit.checkserver import client
    from drillkit.run.space import connect, drop_run

    mine = learner.cwd / "mine.py"
    mine.write_text(SELECT.solution_path.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    assert learner.drill("check", N, "--file", str(mine)).code == 0  # the server is up, its pool filled
    paths = learner.paths
    db = database.resolve(paths)
    ready = client.drain(paths.locks)
    assert ready, "the server keeps ready spaces"
    with connect(db) as conn:
        for name in ready:
            drop_run(conn, name)
    result = learner.drill("check", N, "--file", str(mine))
    assert result.code == 0, result.stdout + result.stderr
    assert run_schemas(learner.home) == set()


def test_the_pool_hands_out_no_space_that_is_no_longer_there() -> None:
    fake = FakeSpaces()
    lost = {"space1_a", "space2_a"}
    pool = fake.pool(2, alive=lambda space: space.schema not in lost)
    with pool.take(None, Fixture("a")):  # type: ignore[arg-type]
        pass
    assert wait_until(lambda: pool.ready() == 2)  # space1_a and space2_a, both "lost"
    with pool.take(None, Fixture("a")) as space:  # type: ignore[arg-type]
        assert space.schema not in lost
    pool.close()
    assert sorted(fake.dropped) == sorted(fake.made)  # the lost one is dropped as far as it goes


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_server_leaves_after_the_idle_period(learner: Learner, prestarts: list[str]) -> None:
    stop_all(learner.home / "locks")
    quick = learner.drill("check", N, "--file", str(SELECT.solution_path), DRILL_DB_IDLE_MINUTES="0.02")
    assert quick.code == 0, quick.stdout + quick.stderr
    locks = learner.home / "locks"
    assert len(running(locks)) == 1
    # The check started the server and was answered by it: a child of its own, prestarted
    # for a run here, would only have competed with the server's imports, then been thrown away.
    assert prestarts == []
    deadline = time.monotonic() + 20
    while running(locks) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running(locks) == [], "the check server outlived its idle period"
    assert run_schemas(learner.home) == set()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_an_interrupt_mid_check_kills_the_run_and_drops_its_schema(
    learner: Learner, tmp_path: Path, sig: int, code: int
) -> None:

    learner.drill("check", N, "--file", str(SELECT.solution_path))  # the server is up
    marker = tmp_path / "running"
    loop = tmp_path / "loop.py"
    loop.write_text(f"open({str(marker)!r}, 'w').close()\nwhile True:\n    pass\n", encoding="utf-8")
    proc = learner.start("check", N, "--file", str(loop), "--timeout", "60")
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the learner's loop never ran"
        time.sleep(0.02)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == code and "interrupted" in stderr and "Traceback" not in stderr
    assert run_schemas(learner.home) == set()  # dropped before the CLI returned
    assert not _loops_running(loop)


def _loops_running(loop: Path) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(loop).encode() in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


def test_an_edited_check_is_seen_by_the_running_server(learner: Learner, tmp_path: Path) -> None:
    root = tmp_path / "mypack"
    assert learner.drill("new", str(root)).code == 0
    assert learner.drill("pack", "add", str(root)).code == 0
    checks = root / "add_book" / "checks.py"
    ref, solution = "mypack:add_book", str(root / "solutions" / "add_book.py")
    passed = learner.drill("check", ref, "--file", solution, "--json")
    assert passed.code == 0, passed.stdout + passed.stderr
    checks.write_text(
        checks.read_text(encoding="utf-8")
        + "\n\n@checks.add('an edit the server must see')\ndef edited(ctx):\n    raise Fail('edited')\n",
        encoding="utf-8",
    )
    failed = learner.drill("check", ref, "--file", solution, "--json")
    results = {r["name"]: r["status"] for r in failed.json["results"]}
    assert results.get("an edit the server must see") == "failed", failed.stdout


# --- the pool, with fake spaces ----------------------------------------------------------------


class FakeSpaces:
    def __init__(self, seconds: float = 0.0) -> None:
        self.made: list[str] = []  # in "the database" from the moment create starts
        self.dropped: list[str] = []
        self.seconds = seconds  # how long making one takes

    def create(self, db: object, fixture: Fixture, conn: object = None) -> RunSpace:
        name = f"space{len(self.made)}_{fixture.name}"
        self.made.append(name)
        time.sleep(self.seconds)
        return RunSpace(name, "", None)  # type: ignore[arg-type]

    def release(self, db: object, space: RunSpace, keep: bool = False) -> bool:
        self.dropped.append(space.schema)
        return False  # nothing to lend again: the fake spaces have no connection

    def pool(self, per_fixture: int, alive=lambda space: True) -> SpacePool:
        return SpacePool(
            None,  # type: ignore[arg-type]
            per_fixture=per_fixture,
            create=self.create,
            release=self.release,
            alive=alive,
            sweeps=False,
        )


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_pool_hands_out_each_space_once_and_drops_every_one() -> None:
    fake = FakeSpaces()
    pool = fake.pool(2)
    first_fixture = Fixture("a")
    with pool.take(None, first_fixture) as space:  # type: ignore[arg-type]
        assert space.schema == "space0_a"  # none ready yet: made on the spot
    assert wait_until(lambda: pool.ready() == 2)
    used = []
    for _ in range(5):
        with pool.take(None, first_fixture) as space:  # type: ignore[arg-type]
            used.append(space.schema)
    assert len(set(used)) == 5  # never twice
    pool.drain()
    assert set(used) | {"space0_a"} <= set(fake.dropped)
    assert pool.taken_ready >= 1
    pool.close()
    assert sorted(fake.dropped) == sorted(fake.made)  # the ready ones too


class FakeConn:
    def __init__(self, n: int, broken: bool = False) -> None:
        self.n, self.broken, self.closed = n, broken, False

    def close(self) -> None:
        self.closed = True


class LendingSpaces(FakeSpaces):
    """Spaces with a connection each, which release gives back for lending (keep=True)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[FakeConn] = []
        self.given: list[FakeConn | None] = []  # the conn create was lent, per space made

    def create(self, db: object, fixture: Fixture, conn: FakeConn | None = None) -> RunSpace:
        from drillkit.errors import DatabaseUnavailableError

        self.given.append(conn)
        if conn is not None and conn.broken:
            conn.close()  # as create_space does when its script fails
            raise DatabaseUnavailableError("the lent connection is gone", "")
        if conn is None:
            conn = FakeConn(len(self.opened))
            self.opened.append(conn)
        space = super().create(db, fixture)
        return RunSpace(space.schema, "", conn)  # type: ignore[arg-type]

    def release(self, db: object, space: RunSpace, keep: bool = False) -> bool:
        super().release(db, space)
        if not keep:
            space.conn.close()
        return keep


def test_the_pool_lends_a_dropped_space_s_connection_to_the_next_one() -> None:
    """A new admin connection is a new Postgres backend: the one a used space was dropped
    through makes the next space, at most IDLE_CONNECTIONS wait, and close() closes all."""
    from drillkit.run.pool import IDLE_CONNECTIONS

    fake = LendingSpaces()
    pool = fake.pool(2)
    for _ in range(6):
        with pool.take(None, Fixture("a")):  # type: ignore[arg-type]
            pass
        assert wait_until(lambda: pool.ready() == 2)
    pool.drain(refilled=True)
    lent = [c for c in fake.given if c is not None]
    assert lent and len(fake.opened) < len(fake.made)  # fills reused the connections of drops
    assert len({id(c) for c in lent}) <= len(fake.opened)
    open_now = [c for c in fake.opened if not c.closed]
    assert len(open_now) <= 2 + 1 + IDLE_CONNECTIONS  # the ready spaces', a check's, the idle ones
    pool.close()
    assert all(c.closed for c in fake.opened) and sorted(fake.dropped) == sorted(fake.made)


def test_a_lent_connection_that_died_is_replaced_by_a_new_one() -> None:
    """After a Postgres restart an idle admin connection is dead: the space is made on a new
    connection, and the check never hears of it."""
    fake = LendingSpaces()
    pool = fake.pool(0)  # nothing made ahead: every check makes its space on the spot
    with pool.take(None, Fixture("a")):  # type: ignore[arg-type]
        pass
    pool.drain()
    assert pool._idle, "the dropped space's connection waits to be lent"
    pool._idle[0].broken = True
    with pool.take(None, Fixture("a")) as space:  # type: ignore[arg-type]
        assert not space.conn.broken and not space.conn.closed
    assert fake.given[-2] is not None and fake.given[-2].broken and fake.given[-1] is None
    pool.close()
    assert sorted(fake.dropped) == sorted(fake.made)


def test_a_connection_lent_again_keeps_nothing_a_check_set_on_it(drill_home: Path) -> None:
    """A pack's Python fixture (seed(conn)) runs on the space's admin connection and might SET things
    or make temp tables; once the space is dropped for reuse, the connection is as new."""
    from drillkit.run.space import connect, create_space, list_run_schemas, release_space

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(drill_home)}))
    fixture = SELECT.fixture
    with connect(db) as fresh:
        defaults = fresh.execute("SELECT current_user, current_setting('search_path')").fetchone()
    space = create_space(db, fixture)
    conn = space.conn
    try:
        conn.execute(f'SET ROLE "{space.schema}"')
        conn.execute("SET search_path TO pg_catalog; SET statement_timeout = '5min'")
        conn.execute("CREATE TEMP TABLE scratch (x int)")
    finally:
        assert release_space(db, space, keep=True) is True
    assert not conn.closed
    assert conn.execute("SELECT current_user, current_setting('search_path')").fetchone() == defaults
    assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"
    assert conn.execute("SELECT to_regclass('pg_temp.scratch')").fetchone()[0] is None
    assert space.schema not in list_run_schemas(conn)
    again = create_space(db, fixture, conn=conn)  # and it makes the next space
    assert release_space(db, again) is False and conn.closed


def test_a_connection_a_check_reconfigured_is_closed_not_lent(drill_home: Path) -> None:
    """What DISCARD ALL cannot reset, the connection object's own settings (a pack's fixture
    or fixture might change them): such a connection is dropped through, then closed."""
    from psycopg.rows import dict_row

    from drillkit.run.space import create_space, release_space

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(drill_home)}))
    space = create_space(db, SELECT.fixture)
    space.conn.row_factory = dict_row  # type: ignore[assignment]
    assert release_space(db, space, keep=True) is False
    assert space.conn.closed
    assert space.schema not in run_schemas_of(db)


def run_schemas_of(db: database.Database) -> list[str]:
    from drillkit.run.space import connect, list_run_schemas

    with connect(db) as conn:
        return list_run_schemas(conn)


def test_the_pool_keeps_at_most_a_few_idle_connections() -> None:
    from drillkit.run.pool import IDLE_CONNECTIONS

    fake = LendingSpaces()
    pool = fake.pool(0)  # each check makes its space on the spot: nothing is lent to fills
    spaces = [pool.take(None, Fixture("a")) for _ in range(IDLE_CONNECTIONS + 2)]  # type: ignore[arg-type]
    conns = [cm.__enter__().conn for cm in spaces]
    for cm in spaces:
        cm.__exit__(None, None, None)
    pool.drain()
    assert len(pool._idle) == IDLE_CONNECTIONS
    assert sum(c.closed for c in conns) == 2  # the ones beyond the cap
    pool.close()
    assert all(c.closed for c in conns)


def test_a_pool_drained_to_rest_names_every_space_it_made_and_did_not_drop() -> None:
    """What the leftover counts rely on: a space being made when the drain asks is already
    in the database, so the drain waits for it instead of leaving it out of the ready ones."""
    fake = FakeSpaces(seconds=0.2)
    pool = fake.pool(2)
    with pool.take(None, Fixture("a")):  # type: ignore[arg-type]
        pass
    ready = pool.drain(refilled=True)
    assert len(ready) == 2 and ready == sorted(set(fake.made) - set(fake.dropped))
    pool.close()


def test_the_pool_serves_no_space_of_an_edited_fixture(tmp_path: Path) -> None:
    fake = FakeSpaces()
    pool = fake.pool(1)
    sql = tmp_path / "seed.sql"
    sql.write_text("CREATE TABLE t (id int);")
    fixture = Fixture("f", sql=sql)
    with pool.take(None, fixture):  # type: ignore[arg-type]
        pass
    assert wait_until(lambda: pool.ready() == 1)
    stale = pool.names()
    sql.write_text("CREATE TABLE t (id int, more int);")
    os.utime(sql, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    with pool.take(None, fixture) as space:  # type: ignore[arg-type]
        assert space.schema not in stale
    pool.close()
    assert sorted(fake.dropped) == sorted(fake.made)


@pytest.mark.parametrize("as_json", [False, True], ids=["report", "json"])
def test_a_warm_check_imports_neither_sqlalchemy_nor_psycopg_nor_typer(
    learner: Learner, as_json: bool
) -> None:
    """The client's whole job is a socket and a report: the heavy imports are the server's.
    `--json` (editors call it on every save) prints no Rich markup, and imports no Rich."""
    assert learner.drill("check", N, "--file", str(SELECT.solution_path)).code == 0  # the server is up
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "drillkit",
            "check",
            N,
            "--file",
            str(SELECT.solution_path),
        ]
        + (["--json"] if as_json else []),
        cwd=learner.cwd,
        env=learner.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "drillkit" in imported  # the measurement works
    assert imported & {"sqlalchemy", "psycopg", "typer", "pydantic"} == set()
    assert ("rich" in imported) is not as_json


def test_no_server_lingers_for_a_database_that_cannot_be_reached(learner: Learner) -> None:
    from drillkit.checkserver.address import holder
    from drillkit.db.server import Database

    url = "postgresql://nobody@127.0.0.1:1/nothing"
    result = learner.drill("check", N, "--file", str(SELECT.solution_path), DRILL_DATABASE_URL=url)
    assert result.code == 2 and "cannot connect" in result.stderr, result.stderr
    lock = client.server_address(home_paths(learner), Database("external", url)).lock
    assert wait_until(lambda: holder(lock) is None, 15.0), "a check server stayed for an unreachable database"


def bound_server(folder: Path, url: str) -> Any:
    """A check server (daemon.Server) for `url`, its socket bound in `folder`, not serving."""
    from drillkit.checkserver import daemon

    lock = folder / "locks" / "check-test.lock"
    lock.parent.mkdir()
    server = daemon.Server({"kind": "external", "url": url, "lock": str(lock)})
    server.bind()
    return server


def solution_check_request() -> dict:
    """What `drill check` sends the server for drill 3's reference solution."""
    from drillkit.run.job import RunJob

    job = RunJob.of(SELECT).to_json()
    return {"op": "check", "job": job, "file": str(SELECT.solution_path), "timeout": 10, "env": {}}


def test_a_server_the_database_refuses_starts_no_zygote_and_answers_each_check_with_why(
    tmp_path: Path,
) -> None:
    """A wrong DRILL_DATABASE_URL costs no zygote (half a second of CPU, in every `drill
    check` that starts a server): the server first lets the database refuse it, then answers
    each check with that refusal, as the run would have, and leaves at its next look."""
    server = bound_server(tmp_path, "postgresql://nobody@127.0.0.1:1/nothing")
    try:
        server.start_service()
        assert server.service is None and server._should_exit()
        assert "cannot connect" in server.status()["refused"]
        reply = server._handle(solution_check_request(), None)  # type: ignore[arg-type]  (a refusal reads no socket)
        assert reply is not None and reply["ok"] is False
        assert reply["error"]["type"] == "DatabaseUnavailableError"
        assert "cannot connect to PostgreSQL at" in reply["error"]["message"]
    finally:
        server.shutdown()


def test_a_refused_server_tries_the_database_again_for_the_next_check(drill_home: Path) -> None:
    """A database that refused the server may be up for the next check (a server started
    late, say): that check tries again, as a lone check would, and runs; the server does not
    answer every check with its first refusal for as long as checks keep it busy."""
    import socket as sockets
    import tempfile

    db = database.resolve(resolve_paths(env={"DRILL_HOME": str(drill_home)}))
    host = re.search(r"host=([^&]+)", db.libpq_url).group(1)
    later = Path(tempfile.mkdtemp(prefix="drillkit-test-sock-"))  # short: a socket path has a limit
    server = bound_server(later, db.libpq_url.replace(f"host={host}", f"host={later}"))
    ours, theirs = sockets.socketpair()
    try:
        assert isinstance(server.start_service(), Exception)  # nothing listens there yet
        (later / ".s.PGSQL.5432").symlink_to(Path(host) / ".s.PGSQL.5432")  # now it does
        reply = server._handle(solution_check_request(), ours)
        assert reply is not None and reply["ok"], reply
        assert server.status()["refused"] is None and not server._should_exit()
    finally:
        server.shutdown()
        ours.close()
        theirs.close()
        shutil.rmtree(later, ignore_errors=True)


def test_a_database_slow_to_refuse_does_not_keep_the_server_from_answering() -> None:
    """The server tries the database in the background: one that never answers (it takes
    the 5 s connect timeout to refuse) must not keep `drill doctor`'s status question, which
    gives up after 5 s, from an answer."""
    import socket
    import tempfile

    from drillkit.db.server import Database

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # takes connections and never says a word
    home = Path(tempfile.mkdtemp(prefix="drillkit-test-home-"))  # short: a socket path has a limit
    paths = resolve_paths(env={"DRILL_HOME": str(home)})
    db = Database("external", f"postgresql://x:y@127.0.0.1:{silent.getsockname()[1]}/z")
    try:
        client.connect(paths, db, start=True, retry=True).close()
        state = client.status(paths, db)  # raises client.Unavailable when no answer comes
        assert state.pid > 0 and state.refused is None  # still trying
    finally:
        stop_all(paths.locks)
        silent.close()
        shutil.rmtree(home, ignore_errors=True)


def test_the_status_of_a_server_from_before_refusals_were_reported_still_reads() -> None:
    """The server key holds drillkit's version, not its commit: after a `git pull` the new
    client may ask a server still running the code from before `refused` was sent."""
    older = {"pid": 7, "since": 0.0, "checks": 2, "ready": 1, "zygote": True, "fallback": None}
    assert client.Status.from_json(older) == client.Status(7, 0.0, 2, 1, True, None, refused=None)
    with pytest.raises(TypeError):
        client.Status.from_json({k: v for k, v in older.items() if k != "pid"})


def test_the_zygote_warm_up_runs_and_leaves_no_mapper_engine_or_connection_behind() -> None:
    """preload_all() swallows a failing warm-up (it is only a saving), so this calls it bare:
    a SQLAlchemy or psycopg upgrade that breaks it shows here. In a fresh interpreter, as in
    the zygote, under strace when there is one: the warm-up never even opens a socket."""
    script = (
        "import gc, sys\n"
        "from drillkit.run import harness, warmup\n"
        "harness.preload()\n"
        "import psycopg\n"
        "from sqlalchemy.orm import mapperlib\n"
        "from sqlalchemy.engine import Engine\n"
        "print('warm-up starts', flush=True)\n"
        "warmup.warm_up()\n"
        "gc.collect()\n"
        "mappers = [m for r in mapperlib._mapper_registries for m in r.mappers]\n"
        "engines = [o for o in gc.get_objects() if isinstance(o, Engine)]\n"
        "print(len(mappers), len(engines))\n"
    )
    traced = ["strace", "-qq", "-e", "trace=write,socket,connect"] if _strace_works() else []
    proc = subprocess.run([*traced, sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["warm-up", "starts", "0", "0"]
    during = proc.stderr.split("warm-up starts", 1)[-1]
    assert "socket(" not in during and "connect(" not in during, during


def _strace_works() -> bool:
    """strace is there and may trace (a container can forbid ptrace)."""
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(
        ["strace", "-qq", "-e", "trace=exit_group", "true"], capture_output=True, timeout=30
    )
    return probe.returncode == 0


def test_a_stop_ends_the_accept_loop_at_once_not_at_its_next_look(tmp_path: Path, monkeypatch) -> None:
    """SIGTERM (`drill db stop`, which waits for the server) wakes the loop through its pipe;
    with a look period of an hour, only that wake-up can end `serve` within the join below."""
    import threading

    from drillkit.checkserver import daemon

    monkeypatch.setattr(daemon, "LOOK_SECONDS", 3600.0)
    server = bound_server(tmp_path, "postgresql://nobody@/nothing")
    loop = threading.Thread(target=server.serve, daemon=True)
    loop.start()
    time.sleep(0.1)  # in select() by now
    assert loop.is_alive()
    server.stop()
    loop.join(10)
    assert not loop.is_alive()
    server.shutdown()
    assert not (tmp_path / "locks" / "check-test.sock").exists()


def test_a_check_expects_a_server_unless_one_failed_lately_or_cannot_be(tmp_path: Path) -> None:
    """`address.will_be_used`, which decides whether `drill check` prestarts a child."""
    from drillkit.checkserver.address import RETRY_SECONDS, address, failure_mark, will_be_used

    locks = tmp_path / "locks"
    assert will_be_used(locks)  # no data dir yet: the check makes it and starts a server
    locks.mkdir()
    assert will_be_used(locks)
    mark = failure_mark(address(locks, "postgresql://some/db"))
    mark.write_text("it did not start")
    assert not will_be_used(locks)  # a start failed just now: the next checks run here
    old = time.time() - RETRY_SECONDS - 1
    os.utime(mark, (old, old))
    assert will_be_used(locks)  # long enough ago: the next check tries again
    (locks / "check-0123456789ab.sock").touch()
    os.utime(mark, None)
    assert will_be_used(locks)  # a server runs (whatever failed for another database)
    (locks / "check-0123456789ab.sock").unlink()
    mark.with_suffix(".sock").touch()
    assert not will_be_used(locks)  # a dead server's socket, and its restart just failed
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "locks"
    assert not will_be_used(deep)  # no socket fits there


def test_forgetting_stopped_servers_leaves_a_running_one_alone(tmp_path: Path) -> None:
    import fcntl

    from drillkit.checkserver.address import beside, forget_stopped

    gone, alive = beside(tmp_path / "check-aaaa.lock"), beside(tmp_path / "check-bbbb.lock")
    for addr in (gone, alive):
        for path in (addr.lock, addr.log, addr.socket):
            path.write_text("1\n")
    with alive.lock.open("r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running server holds it
        assert forget_stopped(tmp_path) == [gone.lock]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "check-bbbb.lock",
        "check-bbbb.log",
        "check-bbbb.sock",
    ]


def test_a_zygote_stopped_past_its_answer_is_replaced_not_trusted(learner: Learner) -> None:
    """Learner code can stop the zygote (SIGSTOP) until a fork request times out. That request
    must not be answered later in place of the next one (every later check would wait on
    another run's guard): the zygote is ended, the check runs in a fresh child, and the next
    check gets a new zygote."""
    from drillkit.db import control
    from drillkit.run.service import CheckService

    with CheckService(control.resolve(learner.paths)) as service:
        first = service.zygote()
        assert first is not None
        first._sock.settimeout(0.5)  # instead of waiting the real 10 s
        os.kill(first.proc.pid, signal.SIGSTOP)
        try:
            assert service.check(SELECT, SELECT.solution_path).passed
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(first.proc.pid, signal.SIGCONT)  # as if the learner's code let it go on
        assert not first.alive
        for _ in range(2):
            report = service.check(SELECT, SELECT.solution_path)
            assert report.passed, [r for r in report.results if r.status != "passed"]
        assert service.zygote() is not first and service.fallback is None


def test_a_server_with_a_database_check_it_gave_up_on_leaves_when_idle(tmp_path: Path, monkeypatch) -> None:
    """A pack's database check that never ends runs on, on its thread, in the server that gave
    up on it: the server leaves at its next idle look, and the next check starts a clean one."""
    import threading

    from drillkit.run import runner

    stop = threading.Event()
    stuck = threading.Thread(target=stop.wait, daemon=True)
    stuck.start()
    server = bound_server(tmp_path, "postgresql://nobody@127.0.0.1:1/nothing")
    try:
        assert not server._should_exit()  # nothing refused it yet, no idle period: it stays
        monkeypatch.setattr(runner, "ABANDONED", [stuck])
        assert server._should_exit()
        stop.set()
        stuck.join()
        assert not server._should_exit()  # the check ended after all: nothing runs on
    finally:
        stop.set()
        server.shutdown()
