"""Passwords on the embedded server: every role, drillkit's admin included, logs in with SCRAM.

pgserver runs initdb with `trust`: anyone who reaches the socket could log in as the
superuser `postgres`, or as another run's role, without a password. drillkit replaces that
with a `pg_hba.conf` of its own (`scram-sha-256` for every line) and gives `postgres` a
random password kept in `<DRILL_HOME>/pgdata-password` (mode 0600, outside pgdata, which
belongs to the `pgserver` system user when drillkit runs as root).

Only the standard library: the warm check path reads the password file and the first
line of `pg_hba.conf` on every check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

ADMIN_ROLE = "postgres"  # the superuser initdb creates; pgserver's URLs name it
DRILL_DATABASE = "postgres"  # the database drillkit's run schemas live in
PASSWORD_FILE = "pgdata-password"

# Every password drillkit sets is a random secret of at least 144 bits, so PBKDF2 stretching
# guards against nothing (it only slows guessing a weak password) and would cost each
# connection a few milliseconds on both ends: one iteration keeps SCRAM as fast as trust.
SCRAM_ITERATIONS = 1

HBA_MARKER = "# drillkit: every connection needs a password (SCRAM); see drillkit/db/auth.py"
HBA = f"""{HBA_MARKER}
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""

_PASSWORD = re.compile(r"[A-Za-z0-9_-]{24,128}")


def password_file(home: Path) -> Path:
    return home / PASSWORD_FILE


def new_password() -> str:
    return secrets.token_urlsafe(32)


def scram_verifier(password: str, iterations: int = SCRAM_ITERATIONS) -> str:
    """What Postgres stores for a SCRAM-SHA-256 password (RFC 5802/7677), computed here.

    Sending the verifier instead of the password means the server never hashes it (and never
    logs it in a failed statement), and it works on any server from PostgreSQL 10 on.
    Our passwords are ASCII, where SASLprep changes nothing.
    """
    if not password.isascii():
        raise ValueError("drillkit's generated passwords are ASCII")
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def read_password(path: Path) -> str | None:
    """The admin password, or None when the file is missing, foreign or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return None
        if info.st_mode & 0o077:  # someone widened it: it is private again from now on
            os.fchmod(fd, 0o600)
        text = handle.read(256).decode("ascii", errors="replace").strip()
    return text if _PASSWORD.fullmatch(text) else None


def write_password(path: Path, password: str) -> None:
    """Write the file readable by its owner only, atomically (a reader never sees half of it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(password + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def hba_is_ours(pgdata: Path) -> bool:
    """Whether `pg_hba.conf` is drillkit's password-only one (else: pgserver's trust one)."""
    try:
        with (pgdata / "pg_hba.conf").open("rb") as handle:
            return handle.read(len(HBA_MARKER) + 1) == (HBA_MARKER + "\n").encode()
    except OSError:
        return False


def write_hba(pgdata: Path) -> None:
    """Replace `pg_hba.conf` atomically, owned like the data dir (the server must read it)."""
    owner = pgdata.stat()
    target = pgdata / "pg_hba.conf"
    tmp = pgdata / f".pg_hba.conf.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(HBA)
            handle.flush()
            os.fsync(handle.fileno())
        if (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):
            os.chown(tmp, owner.st_uid, owner.st_gid)  # root, for the `pgserver` user
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def bootstrap_sql(password: str) -> str:
    """Run in single-user mode, before the server first listens: one statement a line.

    Also closes `template1` to everyone but superusers: a run role that could connect there
    could create an object (a large object, say) that `DROP OWNED BY` in the drill database
    does not reach, and its role could never be dropped. (`template0` takes no connections.)
    """
    verifier = scram_verifier(password)
    return (
        f"ALTER ROLE {ADMIN_ROLE} PASSWORD '{verifier}'\n"
        "REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC\n"
    )
