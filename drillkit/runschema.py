"""One disposable schema per check: created (and seeded) before, dropped after, always."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from drillkit.database import Database
from drillkit.errors import DatabaseUnavailableError
from drillkit.seed import seed_sql

if TYPE_CHECKING:
    import psycopg

PREFIX = "drill_run_"
ORPHAN_AGE_SECONDS = 600


def new_schema_name() -> str:
    # The creation time is in the name so a later run can sweep orphans without a registry.
    return f"{PREFIX}{int(time.time())}_{os.getpid()}_{secrets.token_hex(3)}"


def connect(db: Database) -> psycopg.Connection:
    import psycopg

    try:
        # Run schemas are throwaway: their DDL need not wait for the WAL to reach the disk.
        return psycopg.connect(
            db.libpq_url, autocommit=True, connect_timeout=5, options="-c synchronous_commit=off"
        )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailableError(f"cannot connect to PostgreSQL at {db.display}: {reason}") from None


@contextmanager
def run_schema(db: Database, *, seeded: bool) -> Iterator[str]:
    """Yield the name of a fresh schema; drop it afterwards whatever happened."""
    conn = connect(db)
    name = new_schema_name()
    try:
        sweep_orphans(conn)
        script = f'CREATE SCHEMA "{name}"; SET search_path TO "{name}";'
        if seeded:
            script += seed_sql()
        conn.execute(script.encode())
        yield name
    finally:
        _drop(db, conn, name)


def _drop(db: Database, conn: psycopg.Connection, name: str) -> None:
    import psycopg

    statement = f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode()
    try:
        conn.execute(statement)
    except psycopg.Error:
        # The first connection may have died with the learner's run; use a new one.
        with connect(db) as fresh:
            fresh.execute(statement)
    finally:
        conn.close()


def sweep_orphans(conn: psycopg.Connection, max_age: int = ORPHAN_AGE_SECONDS) -> list[str]:
    """Drop run schemas left behind by a killed drillkit (only ours, only old ones)."""
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
        (PREFIX.replace("_", r"\_") + "%",),
    ).fetchall()
    cutoff = time.time() - max_age
    dropped = []
    for (name,) in rows:
        try:
            created = int(name[len(PREFIX) :].split("_", 1)[0])
        except ValueError:
            continue
        if created < cutoff:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode())
            dropped.append(name)
    return dropped


def list_run_schemas(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
        (PREFIX.replace("_", r"\_") + "%",),
    ).fetchall()
    return [r[0] for r in rows]
