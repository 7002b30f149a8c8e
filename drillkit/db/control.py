"""The database as commands see it: the server plus its idle watchdog, started and stopped together.

`server` knows Postgres, `idle` knows when to stop it; only this module knows both, so neither
imports the other's caller (the watchdog imports `server` to stop it, nothing imports back).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from drillkit.checkserver.address import forget_stopped, stop_all
from drillkit.db import idle, server
from drillkit.db.server import Database
from drillkit.paths import Paths


def resolve(paths: Paths, env: Mapping[str, str] = os.environ) -> Database:
    """The server to use; an embedded one gets a watchdog that stops it when idle."""
    # A bad idle setting is refused before a server starts: not one left running without its watchdog.
    idle.idle_seconds(env)
    db = server.resolve(paths, env)
    if db.kind == "embedded":
        idle.ensure_watchdog(paths.locks, env)  # stops it after DRILL_DB_IDLE_MINUTES without checks
    return db


def stop(paths: Paths) -> bool:
    """Stop the check servers (they drop their ready run schemas first), the watchdog and
    the embedded server; False if the embedded server was not running."""
    stop_all(paths.locks)
    idle.stop_watchdog(paths.locks)
    return server.stop_embedded(paths)


def reset(paths: Paths) -> None:
    """Stop everything and delete the embedded server's folder, pgdata (progress lives elsewhere)."""
    stop_all(paths.locks)
    forget_stopped(paths.locks)  # named after a digest of the old database's URL: never used again
    idle.stop_watchdog(paths.locks)
    server.reset_embedded(paths)
