"""Which Postgres to use: `DRILL_DATABASE_URL`, or the embedded server under DRILL_HOME."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from drillkit.db import auth, settings
from drillkit.db.libpq_env import set_libpq_settings
from drillkit.errors import DatabaseUnavailableError, DrillkitError
from drillkit.paths import Paths

URL_ENV = "DRILL_DATABASE_URL"
# What to do when the server named by the URL cannot be reached (said by errors and `drill doctor`).
EXTERNAL_FIX = (
    f"check {URL_ENV} (host, port, user, password, database), or unset it to use the embedded server"
)


@dataclass(frozen=True)
class Database:
    kind: Literal["embedded", "external"]
    libpq_url: str  # for psycopg: postgresql://...

    @property
    def sqlalchemy_url(self) -> str:
        return sqlalchemy_url(self.libpq_url)

    @property
    def display(self) -> str:
        return _masked(self.libpq_url)


def sqlalchemy_url(libpq_url: str) -> str:
    return "postgresql+psycopg://" + libpq_url.split("://", 1)[1]


def resolve(paths: Paths, env: Mapping[str, str] = os.environ) -> Database:
    """The server to use; an embedded one is started (or re-attached) here."""
    url = env.get(URL_ENV, "").strip()
    if url:
        return Database("external", _libpq_url(url))
    # The embedded server is drillkit's own: a user's PGPORT, PGOPTIONS or PGDATESTYLE (for
    # another server) must not reach its start, its connections, nor the processes this one
    # starts. An external server keeps them: its URL may count on them.
    set_libpq_settings({})
    return Database("embedded", start_embedded(paths))


MAX_URL_LENGTH = 4096  # libpq has no limit; a URL this long is a mistake, not a server


def _libpq_url(url: str) -> str:
    """The URL in libpq's spelling, once it is plausible: bounded, text, one line, a
    postgres scheme, host names DNS could look up. Anything else is one line, exit 2."""

    def refuse(why: str) -> DatabaseUnavailableError:
        masked = _masked(url)
        shown = ascii(masked if len(masked) <= 80 else masked[:80] + "...")
        return DatabaseUnavailableError(
            f"{URL_ENV} {why}; it must look like postgresql://user:password@host:5432/dbname, got {shown}"
        )

    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"is {len(url)} characters long (at most {MAX_URL_LENGTH})")
    if not url.isprintable():  # newlines, control characters, undecodable bytes (surrogates)
        raise refuse("holds control characters or bytes that are not UTF-8")
    match = re.match(r"^(postgres|postgresql)(\+\w+)?://", url)
    if not match:
        raise refuse("does not start with postgresql://")
    rest = url[match.end() :]
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    for host in netloc.split(","):  # libpq takes several hosts: h1:5432,h2:5433
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else ""
        if not name:
            continue  # a Unix socket (?host=/dir) or an IPv6 [address]
        try:
            name.encode("idna")  # what the resolver will do; a label over 63 characters fails
        except UnicodeError:
            raise refuse(f"has a host name DNS cannot look up ({name[:40]!a})") from None
    return "postgresql://" + rest


def _masked(url: str) -> str:
    """The URL with whatever stands between the user name and the last @ starred out, and any
    password= parameter: a password is never echoed, with a scheme or without, whatever
    characters it holds."""
    # A password given as a parameter: ?password=... in a URL, password=... in a libpq string.
    url = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", r"\1***", url, flags=re.I)
    scheme = re.match(r"^[A-Za-z][\w+.-]*://", url)
    start = scheme.end() if scheme else 0
    at = url.rfind("@")
    colon = url.find(":", start)
    if at < 0 or colon < 0 or colon > at:
        return url
    return f"{url[: colon + 1]}***{url[at:]}"


EMBEDDED_PORT = 5432  # on a Unix socket in its own folder: no other server's port to clash with


def running_uri(paths: Paths) -> str | None:
    """The admin URI of a running, ready, password-protected embedded server; else None.

    This is what pgserver's re-attach computes, without importing pgserver (psutil and
    friends): the warm path of every check. A server still on pgserver's `trust`
    authentication (made by an older drillkit) is not ready: the slow path secures it.
    """
    pgdata = paths.pgdata
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir, status = int(lines[0]), lines[3].strip(), lines[4].strip(), lines[7].strip()
    except (OSError, ValueError, IndexError):
        return None
    if status != "ready" or port != str(EMBEDDED_PORT) or not socket_dir or not process_alive(pid):
        return None
    if not (Path(socket_dir) / f".s.PGSQL.{EMBEDDED_PORT}").exists():
        return None
    password = auth.read_password(auth.password_file(paths.home))
    if password is None or not auth.hba_is_ours(pgdata):
        return None
    return _admin_uri(socket_dir, password)


def _admin_uri(socket_dir: str, password: str) -> str:
    user, dbname = quote(auth.ADMIN_ROLE, safe=""), quote(auth.DRILL_DATABASE, safe="")
    host = quote(socket_dir, safe="/")
    return f"postgresql://{user}:{quote(password, safe='')}@/{dbname}?host={host}&port={EMBEDDED_PORT}"


def start_embedded(paths: Paths) -> str:
    """Start (or re-attach to) the embedded server; it keeps running for the next command."""
    return running_uri(paths) or _start_embedded(paths)


def _start_embedded(paths: Paths) -> str:
    from filelock import FileLock

    from drillkit.db import pgserver  # the cold path only: it imports logging and pgserver

    try:
        paths.home.mkdir(parents=True, exist_ok=True)
        paths.locks.mkdir(exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailableError(
            f"cannot create drillkit's data dir {paths.home}: {exc.strerror} (set DRILL_HOME)"
        ) from None
    # Two commands racing to start the server must start it once.
    with FileLock(str(paths.locks / "server.lock"), timeout=60):
        for attempt in range(START_ATTEMPTS):
            _clear_stale_pid_file(paths.pgdata)
            try:
                return _get_server_url(paths)
            except DrillkitError:
                raise
            except Exception as exc:  # pgserver raises bare RuntimeError/ValueError on a bad data dir
                program = pgserver.failed_command(exc)
                if program in ("pg_ctl", "postgres") and attempt < START_ATTEMPTS - 1:
                    # A server killed from outside leaves backends behind for a moment;
                    # Postgres refuses to start until they have exited. (Setting the password
                    # in single-user mode is redone whole: it is idempotent.)
                    time.sleep(1.0)
                    continue
                raise _start_failed(paths, exc, program) from None
    raise AssertionError("unreachable")


START_ATTEMPTS = 4


def _get_server_url(paths: Paths) -> str:
    from drillkit.db import os_user, pgserver

    os_user.ensure_server_user()  # before pgserver's own useradd, which does not wait its turn
    pg = pgserver.load(paths.home, paths.locks)
    pgdata = paths.pgdata
    pgserver.forget(pg, pgdata)  # no stale handle (nor its exit hook)
    server = pg.get_server(pgdata, cleanup_mode=None, start=False)
    secret = auth.password_file(paths.home)
    password = auth.read_password(secret)
    if password is None or not auth.hba_is_ours(pgdata) or not settings.has_fast_settings(pgdata):
        # A new data dir, one made by an older drillkit (trust authentication, or durable
        # settings), or a lost password file: set up before the server listens to anyone.
        stop_embedded(paths)
        _clear_stale_pid_file(pgdata)
        server.ensure_pgdata_inited()  # initdb, when there is no cluster yet
        if password is None:
            password = auth.new_password()
            auth.write_password(secret, password)
        pgserver.single_user(server, auth.bootstrap_sql(password) + settings.settings_sql())
        auth.write_hba(pgdata)
    pgserver.start(server)
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        raise RuntimeError("the server has no Unix socket")
    return _admin_uri(str(socket_dir), password)


def _start_failed(paths: Paths, exc: BaseException, program: str | None) -> DatabaseUnavailableError:
    from drillkit.db import pgserver

    log = pgserver.log_file(paths.home)
    signal_name = pgserver.killed_by(exc)
    reason = f"{program} was killed by {signal_name}" if signal_name else pgserver.failure_reason()
    if program == "initdb":  # nothing to reset: initdb leaves an empty data dir behind
        what = f"could not create the embedded PostgreSQL in {paths.pgdata}"
        if reason:
            what += f": {reason}"
        return DatabaseUnavailableError(
            f"{what}; see {log}, then try again (DRILL_HOME puts the data dir elsewhere), or set {URL_ENV}"
        )
    if program is not None:
        what = f"the embedded PostgreSQL in {paths.pgdata} did not start ({program} failed)"
        where = f"see {log} and {paths.pgdata / 'log'}"
    else:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        what = f"the embedded PostgreSQL in {paths.pgdata} did not start ({detail})"
        where = f"see {paths.pgdata / 'log'}"
    if reason:
        what += f": {reason}"
    return DatabaseUnavailableError(
        f"{what}; {where}, then run `drill db reset` to start over, or set {URL_ENV}"
    )


def _clear_stale_pid_file(pgdata: Path) -> None:
    """A pid file whose process is dead (or a zombie) would make pgserver think it runs."""
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists() and postmaster_pid(pgdata) is None:
        pid_file.unlink(missing_ok=True)


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: Path
    initialized: bool
    pid: int | None


def embedded_status(paths: Paths) -> EmbeddedStatus:
    pid = postmaster_pid(paths.pgdata)
    return EmbeddedStatus(paths.pgdata, (paths.pgdata / "PG_VERSION").exists(), pid)


def stop_embedded(paths: Paths, wait_seconds: float = 15.0) -> bool:
    """Fast-shutdown the embedded server; False if it was not running."""
    # A handle of this process's pgserver on it (it started the server in-process) is stale
    # now; its exit hook would take its lock and log, re-creating a home since deleted.
    from drillkit.db import pgserver

    pgserver.forget_if_loaded(paths.pgdata)
    pid = postmaster_pid(paths.pgdata)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)  # SIGINT = Postgres "fast shutdown"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.05)
    raise DatabaseUnavailableError(f"the embedded server (pid {pid}) did not stop in time")


def reset_embedded(paths: Paths) -> None:
    """Stop the server and delete its folder (pgdata); the next check initializes a new one.

    Only disposable run schemas live there: progress is stored elsewhere.
    """
    import shutil

    stop_embedded(paths)
    if paths.pgdata.exists():
        try:
            shutil.rmtree(paths.pgdata)
        except OSError as exc:
            raise DatabaseUnavailableError(f"cannot delete {paths.pgdata}: {exc.strerror}") from None
    # The next data dir gets a password of its own.
    auth.password_file(paths.home).unlink(missing_ok=True)


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        first = (pgdata / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first)
    except (OSError, ValueError, IndexError):
        return None
    return pid if process_alive(pid) else None


def process_alive(pid: int) -> bool:
    """Whether a process runs (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
