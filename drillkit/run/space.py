"""One disposable schema per check, owned by a throwaway role; both dropped afterwards, always.

Learner code connects as the run's role, which owns only the run's schema: it cannot
read other run schemas, create in or drop `public`, or create roles and databases; on the
embedded server every role needs its password, and the drill database is the only one a
run role may connect to. This guards against mistakes and curiosity, not against a
determined attacker: the learner's code still runs as the operating-system user who
started drillkit, and can read that user's files (the admin password file among them).

Cleanup never raises: what cannot be dropped now is reported as a warning and dropped by
a later check's sweep; `drill doctor` lists what stays.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from drillkit.db.auth import scram_verifier
from drillkit.db.server import EXTERNAL_FIX, Database, process_alive
from drillkit.errors import ConfigError, DatabaseUnavailableError, DrillkitError
from drillkit.pack.model import Fixture
from drillkit.run import tamper

if TYPE_CHECKING:
    import psycopg

PREFIX = "drill_run_"
ORPHAN_AGE_SECONDS = 600


@dataclass(frozen=True)
class RunSpace:
    schema: str
    learner_url: str  # libpq URL learner code connects with (the run role's, when allowed)
    conn: psycopg.Connection  # drillkit's own connection (autocommit), for database checks
    role: str | None = None  # the run's role (named like the schema); None: the server refused one
    baseline: tamper.Objects = frozenset()  # what tamper.scan found once the fixture was in


def new_schema_name() -> str:
    # The creation time is in the name so a later run can sweep orphans without a registry.
    return f"{PREFIX}{int(time.time())}_{os.getpid()}_{secrets.token_hex(3)}"


def connect(db: Database | str, options: str = "") -> psycopg.Connection:
    import psycopg

    url = db if isinstance(db, str) else db.libpq_url
    try:
        # Run schemas are throwaway: their DDL need not wait for the WAL to reach the disk.
        # search_path pg_catalog: no unqualified name in drillkit's own SQL can resolve to an
        # object a learner made (on PostgreSQL 14 and older anyone may create in `public`, and
        # an exact-type operator there would beat a built-in one that needs a cast, and run
        # with drillkit's rights). Fixtures and checks set the run schema's path themselves.
        # No prepared statements: a connection lent again (run/pool.py) is reset with DISCARD
        # ALL, which older psycopg versions would not know had deallocated them.
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=5,
            options=f"-c synchronous_commit=off -c search_path=pg_catalog {options}".strip(),
        )
        conn.prepare_threshold = None
        return conn
    except psycopg.Error as exc:
        shown = db.display if isinstance(db, Database) else "the run role"
        external = isinstance(db, Database) and db.kind == "external"
        fix = EXTERNAL_FIX if external else "`drill doctor` says what is wrong"
        reason = f"cannot connect to PostgreSQL at {shown}: {_reason(exc)}"
        raise DatabaseUnavailableError(reason, fix) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect_elsewhere(conn: psycopg.Connection, dbname: str) -> psycopg.Connection:
    """Another database of the same server, with the credentials `conn` logged in with."""
    import psycopg

    params = {**conn.info.get_parameters(), "dbname": dbname, "connect_timeout": "5"}
    if conn.info.password:
        params["password"] = conn.info.password
    return psycopg.connect(**params, autocommit=True)


def with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def run_space(db: Database, fixture: Fixture) -> Iterator[RunSpace]:
    """Create role + schema (+ the drill's fixture) in two round trips; drop both afterwards."""
    space = create_space(db, fixture, sweep=True)
    try:
        yield space
    finally:
        release_space(db, space)


def create_space(
    db: Database, fixture: Fixture, *, sweep: bool = False, conn: psycopg.Connection | None = None
) -> RunSpace:
    """A new run space; `sweep` first drops what killed runs left behind. The check
    server's pool makes these ahead of time (and sweeps itself, before each check), on an
    admin connection it lends (`conn`: the space keeps it, as if it had opened it)."""
    import psycopg

    conn = connect(db) if conn is None else conn
    name = new_schema_name()
    try:
        if sweep:
            sweep_orphans(conn, orphan_age(db))
        try:
            learner_url = _create(db, conn, name, fixture)
            role = name if learner_url != db.libpq_url else None
            baseline = tamper.baseline(conn, name, role, fixture)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailableError(
                f"cannot create the run schema at {db.display}: {reason} "
                "(the user needs CREATE on the database)"
            ) from None
    except BaseException:
        release_space(db, RunSpace(name, "", conn))
        raise
    return RunSpace(name, learner_url, conn, role=role, baseline=baseline)


READ_TIMEOUTS = "-c statement_timeout=30s -c lock_timeout=10s"  # a database check never hangs


def shut_out(space: RunSpace, keep_pid: int | None = None) -> None:
    """No new logins for the run's role, and every session of it ended but `keep_pid` (the
    reader's). The learner's processes are gone, but a backend of theirs may still run a
    statement or hold a lock, and another process that has the run's password (another run
    of the learner's) could log in to change the schema after it was scanned. The drop
    makes the role NOLOGIN anyway."""
    if space.role is None:
        return  # learner code logged in as drillkit itself: its sessions are not told apart
    space.conn.execute(f'ALTER ROLE "{space.role}" NOLOGIN'.encode())  # committed before the ending
    _end_sessions(space, keep_pid)


def _end_sessions(space: RunSpace, keep_pid: int | None = None) -> None:
    """End the run role's sessions but `keep_pid`, and wait (up to 5 s) until they are gone."""
    waits = space.conn.info.server_version >= 140000  # PostgreSQL 14+ can wait for each one
    ended = space.conn.execute(
        f"SELECT pg_terminate_backend(pid{', 5000' if waits else ''}) FROM pg_stat_activity "
        "WHERE usename = %s AND pid <> %s".encode(),
        (space.role, keep_pid or 0),
    ).fetchall()
    if waits and all(row[0] for row in ended):
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # an older server, or a backend slow to go
        left = space.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND pid <> %s",
            (space.role, keep_pid or 0),
        ).fetchone()
        if not left or not left[0]:
            return
        time.sleep(0.01)


@contextmanager
def reader(space: RunSpace) -> Iterator[psycopg.Connection]:
    """A connection for the database checks, logged in as the run's own role: they read the
    learner's objects (a view over a function of theirs runs it with the reader's rights),
    so never on drillkit's admin session. Log in before shut_out, which spares its session."""
    try:
        conn = connect(space.learner_url, options=READ_TIMEOUTS)
    except DatabaseUnavailableError:
        if space.role is None:
            raise
        # Learner code runs as the role: it may have used up the role's connection limit
        # (sessions still sleeping on the server), or changed the role's own password.
        _end_sessions(space)
        password = unquote(urlsplit(space.learner_url).password or "")
        space.conn.execute(f"ALTER ROLE \"{space.role}\" PASSWORD '{scram_verifier(password)}'".encode())
        conn = connect(space.learner_url, options=READ_TIMEOUTS)
    try:
        yield conn
    finally:
        conn.close()


def space_alive(space: RunSpace) -> bool:
    """Whether a space made ahead of time is still whole: its admin connection answers and its
    schema exists. A Postgres restart ends the one, and may lose the other (run DDL does not
    wait for the disk), so a pool checks before it hands a space out."""
    import psycopg

    try:
        row = space.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (space.schema,)
        ).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])


def release_space(db: Database, space: RunSpace, *, keep: bool = False) -> bool:
    """Drop the run's schema and role, and close its connection; never raises. With `keep`,
    the connection is reset first (DISCARD ALL: nothing a pack's Python fixture set on it
    stays) and, if the drop went through it, left open for the pool to lend again: True.
    Otherwise it is closed: False."""
    # A second Ctrl-C must not abort the cleanup half-way: hold signals until it is done.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        problem, kept = _drop(db, space.conn, space.schema, keep=keep)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    if problem:
        print(
            f"warning: could not drop the run's schema and role {space.schema} ({problem}); "
            "a later check drops them, `drill doctor` lists them meanwhile",
            file=sys.stderr,
        )
    return kept


def _create(db: Database, conn: psycopg.Connection, name: str, fixture: Fixture) -> str:
    """Role, schema and the fixture; returns the URL learner code connects with."""
    password = secrets.token_urlsafe(18)
    isolated = _create_role(conn, name, password)
    owner = f' AUTHORIZATION "{name}"' if isolated else ""
    script = f'CREATE SCHEMA "{name}"{owner};'
    if isolated:
        script += f'SET ROLE "{name}";'  # so the seeded tables belong to the run role
    script += f'SET search_path TO "{name}"; SET statement_timeout = {FIXTURE_SECONDS * 1000};'
    conn.execute(script.encode())
    try:
        _seed(conn, fixture)
    except BaseException:
        with suppress(Exception):  # never over the fixture's own error: the drop starts afresh
            _back_to_admin(conn, failed=True)
        raise
    _back_to_admin(conn, failed=False)
    if not isolated:
        return db.libpq_url  # the server refused CREATE ROLE: `drill doctor` explains this
    learner_url = with_credentials(db.libpq_url, name, password)
    if db.kind == "external":
        connect(learner_url).close()  # pg_hba.conf may not let new roles in
    return learner_url


def _back_to_admin(conn: psycopg.Connection, *, failed: bool) -> None:
    """The admin connection as create_space found it, whatever the fixture left: a transaction
    it opened ended (committed, or rolled back if it failed), autocommit on, role and settings
    reset."""
    import psycopg

    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback() if failed else conn.commit()
    if not conn.autocommit:
        conn.autocommit = True
    conn.execute("RESET ROLE; RESET search_path; RESET statement_timeout;")


def _seed(conn: psycopg.Connection, fixture: Fixture) -> None:
    """Run the drill's fixture in the run schema. Its failure is the pack's bug, named with
    the fixture's file and line, never blamed on the database or shown as a traceback."""
    import psycopg

    path = fixture.sql or fixture.python
    if path is None:
        return
    started = time.monotonic()
    try:
        if fixture.sql is not None:
            conn.execute(fixture_sql(fixture.sql).encode())
        else:
            _python_fixture(path)(conn)
    except (ConfigError, DatabaseUnavailableError):
        raise
    except (Exception, SystemExit) as exc:  # a fixture's sys.exit() is its bug too
        took = time.monotonic() - started  # the server's words may be in any language
        if isinstance(exc, psycopg.errors.QueryCanceled) and took >= FIXTURE_SECONDS * 0.9:
            raise ConfigError(
                f"a statement of the drill's fixture {fixture.name!r} ({path}) ran for more than "
                f"{FIXTURE_SECONDS} s and was stopped (a bug in the pack; `drill validate` shows it)"
            ) from None
        if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled):
            raise  # the connection itself: the database's trouble (create_space says so)
        raise ConfigError(
            f"the drill's fixture {fixture.name!r} failed ({_fixture_line(path, exc)}): {_said(exc)} "
            "(a bug in the pack; `drill validate` shows it)"
        ) from None


def _said(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _fixture_line(path: Path, exc: BaseException) -> str:
    """`path:line` of a fixture's failure: the deepest frame in the fixture's module, or, for
    SQL, the line Postgres points at (its position counts characters of the text sent)."""
    from drillkit.check.framework import line_in

    line = line_in(exc, path)
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    if line is None and position and str(position).isdigit():
        with suppress(ConfigError):
            line = _fixture_text(path)[: int(position) - 1].count("\n") + 1
    return f"{path}:{line}" if line else str(path)


# Each statement of a fixture may take this long (a pack's bug, such as a pg_sleep, must not
# hang every check of its drill); the error then names the fixture.
FIXTURE_SECONDS = 30


FIXTURE_LIMIT = 64 << 20  # a seed's SQL may be large; a FIFO or a device is never read


def fixture_sql(path: Path) -> str:
    return _fixture_text(path) + "\n;"


def _fixture_text(path: Path) -> str:
    from drillkit.store import Unreadable, read_text_file

    try:
        return read_text_file(path, FIXTURE_LIMIT)
    except Unreadable as exc:
        raise ConfigError(f"the drill's fixture {path} {exc}") from None


def _python_fixture(path: Path) -> Callable[[psycopg.Connection], None]:
    """`seed(conn)` from a pack's fixture module (pack code is trusted, like a pytest plugin)."""
    import types

    # Read like any pack file (never a FIFO's endless wait), then run as the module it is.
    module = types.ModuleType(f"drillkit_fixture_{path.stem}")
    module.__file__ = str(path)
    exec(compile(_fixture_text(path), str(path), "exec"), module.__dict__)
    seed = getattr(module, "seed", None)
    if not callable(seed):
        raise ConfigError(f"the fixture {path} defines no seed(conn) function")
    return seed


def _create_role(conn: psycopg.Connection, name: str, password: str) -> bool:
    import psycopg

    try:
        # The verifier, not the password: the server need not hash it (see db/auth.py).
        conn.execute(
            f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{scram_verifier(password)}' NOSUPERUSER NOCREATEDB "
            f"NOCREATEROLE NOINHERIT NOREPLICATION CONNECTION LIMIT 16;"
            f'GRANT "{name}" TO CURRENT_USER;'
            f'ALTER ROLE "{name}" SET search_path TO "{name}";'.encode()
        )
    except psycopg.errors.InsufficientPrivilege:
        # The script ran as one implicit transaction: nothing of it is left to undo.
        return False
    return True


# Whether the role exists, and the other databases holding something of it: objects it
# owns or privileges it was granted there (pg_shdepend is shared by all databases).
_ROLE_SQL = """
SELECT r.oid IS NOT NULL, ARRAY(
    SELECT DISTINCT d.datname::text FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
    WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid
      AND d.datname <> current_database() ORDER BY 1)
FROM (SELECT %s::name AS name) AS wanted LEFT JOIN pg_roles r ON r.rolname = wanted.name
"""


def _drop_sql(name: str, role_exists: bool, drop_role: bool) -> bytes:
    script = ""
    if role_exists:  # no new logins, then end the ones still there (in any database)
        script += (
            f'ALTER ROLE "{name}" NOLOGIN;'
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE usename = '{name}' AND pid <> pg_backend_pid();"
        )
    script += f'DROP SCHEMA IF EXISTS "{name}" CASCADE;'
    if role_exists:
        script += f'DROP OWNED BY "{name}" CASCADE;'
        if drop_role:
            script += f'DROP ROLE IF EXISTS "{name}";'
    return script.encode()


def drop_run(conn: psycopg.Connection, name: str) -> None:
    """Drop a run's schema and role, also what the role left in other databases.

    Raises psycopg.Error (or DatabaseUnavailableError) when something stays behind.
    """
    import psycopg

    row = conn.execute(_ROLE_SQL, (name,)).fetchone()
    role_exists, elsewhere = (bool(row[0]), list(row[1])) if row else (False, [])
    # Usually one round trip. Otherwise the schema goes first, in its own transaction: it is
    # gone even if the role must stay.
    script = _drop_sql(name, role_exists, drop_role=not elsewhere)
    try:
        conn.execute(script)
    except psycopg.errors.OutOfMemory:  # "out of shared memory": more objects than locks
        _drop_piecemeal(conn, name)
        conn.execute(script)
    if not elsewhere:
        return
    for dbname in elsewhere:
        with _connect_elsewhere(conn, dbname) as other:
            other.execute(f'DROP OWNED BY "{name}" CASCADE'.encode())
    conn.execute(f'DROP ROLE IF EXISTS "{name}"'.encode())


# A schema's objects, a batch at a time, with the DROP word for each (a domain is a type to
# pg_identify_object, but not to DROP TYPE).
_PIECES_SQL = """
SELECT CASE WHEN o.type = 'type' AND t.typtype = 'd' THEN 'domain'
            WHEN o.type = 'statistics object' THEN 'statistics' ELSE o.type END, o.identity
FROM pg_namespace n JOIN pg_depend d ON d.refobjid = n.oid
CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) o
LEFT JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
WHERE n.nspname = %s AND d.refclassid = 'pg_namespace'::regclass AND d.deptype = 'n'
LIMIT 500
"""
PIECE_BATCH = 100


def _drop_piecemeal(conn: psycopg.Connection, name: str) -> None:
    """Drop a schema's objects a batch per transaction. One DROP SCHEMA ... CASCADE locks
    every object at once, and learner code can make more objects (thousands of enum types,
    say) than the server's lock table holds: that drop would fail at every later sweep too."""
    import psycopg

    seen: set[tuple[str, str]] = set()
    while True:
        rows = [(str(k), str(i)) for k, i in conn.execute(_PIECES_SQL, (name,)).fetchall()]
        if not rows or set(rows) <= seen:
            return  # all gone, or only what cannot be dropped this way: the CASCADE's turn
        seen.update(rows)
        by_kind: dict[str, list[str]] = {}
        for kind, identity in rows:
            by_kind.setdefault(kind, []).append(identity)
        for kind, identities in by_kind.items():
            for start in range(0, len(identities), PIECE_BATCH):
                batch = identities[start : start + PIECE_BATCH]
                try:
                    conn.execute(f"DROP {kind} IF EXISTS {', '.join(batch)} CASCADE".encode())
                except psycopg.Error:  # one that only its owner object may drop: the rest one by one
                    for identity in batch:
                        with suppress(psycopg.Error):
                            conn.execute(f"DROP {kind} IF EXISTS {identity} CASCADE".encode())


def _drop(
    db: Database, conn: psycopg.Connection, name: str, *, keep: bool = False
) -> tuple[str | None, bool]:
    """Drop the run's schema and role; never raises. Returns why something stayed (or None),
    and whether `conn` is still open for another use (only with `keep`)."""
    kept = False
    try:
        try:
            if keep:  # first undo what a fixture's seed(conn) set (a role, a search_path, temp tables)
                conn.execute("DISCARD ALL")
            drop_run(conn, name)
            kept = keep and _as_new(conn)
            return None, kept
        except Exception:  # psycopg's, or a pack's fixture that reconfigured the connection object
            # The first connection may have died with the learner's run. Close it first, so
            # nothing still in flight on it can land after the drop; then use a new one.
            conn.close()
            with connect(db) as fresh:
                drop_run(fresh, name)
            return None, False
    except Exception as exc:
        return _reason(exc), False
    finally:
        if not kept:
            conn.close()


def _as_new(conn: psycopg.Connection) -> bool:
    """Whether the connection object is as `connect` made it (DISCARD ALL resets only the
    server's side): idle, autocommit, tuples, no transaction characteristics."""
    import psycopg
    from psycopg.rows import tuple_row

    return (
        conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        and conn.autocommit
        and conn.row_factory is tuple_row
        and conn.read_only is None
        and conn.isolation_level is None
        and conn.deferrable is None
        and conn.prepare_threshold is None
    )


def _run_names(conn: psycopg.Connection) -> set[str]:
    pattern = PREFIX.replace("_", r"\_") + "%"
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %(p)s "
        "UNION SELECT rolname FROM pg_roles WHERE rolname LIKE %(p)s",
        {"p": pattern},
    ).fetchall()
    return {r[0] for r in rows}


def orphan_age(db: Database) -> int:
    """How old a dead run must be before others may drop it.

    The embedded server serves this machine only, so a run whose process is gone is over.
    An external one may serve other machines, whose process ids mean nothing here.
    """
    return 0 if db.kind == "embedded" else ORPHAN_AGE_SECONDS


def orphans(conn: psycopg.Connection, max_age: int = ORPHAN_AGE_SECONDS) -> list[str]:
    """Run schemas and roles whose check has ended (only ours, only older than max_age)."""
    cutoff = time.time() - max_age
    found = []
    for name in sorted(_run_names(conn)):
        try:
            created, pid = (int(part) for part in name[len(PREFIX) :].split("_")[:2])
        except ValueError:
            continue
        # A live pid here may be a long check of this machine's: leave it alone.
        if created > cutoff or process_alive(pid):
            continue
        found.append(name)
    return found


def sweep_orphans(conn: psycopg.Connection, max_age: int = ORPHAN_AGE_SECONDS) -> list[str]:
    """Drop run schemas and roles left behind by a killed drillkit or a failed cleanup.

    Every check sweeps, so what could not be dropped once is retried until it goes.
    """
    import psycopg

    dropped = []
    for name in orphans(conn, max_age):
        try:
            drop_run(conn, name)
        except (psycopg.Error, DrillkitError):
            continue  # another check swept it at the same moment, or it still cannot go
        dropped.append(name)
    return dropped


def where_owned(conn: psycopg.Connection, name: str) -> list[str]:
    """The other databases in which a run role owns objects or holds privileges."""
    row = conn.execute(_ROLE_SQL, (name,)).fetchone()
    return list(row[1]) if row else []


def list_run_schemas(conn: psycopg.Connection) -> list[str]:
    """Run schemas and run roles that exist right now."""
    return sorted(_run_names(conn))
