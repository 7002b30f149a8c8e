"""The environment a check's child process gets (kept apart so the CLI never imports SQLAlchemy)."""

from __future__ import annotations

import os

URL_ENV = "DRILL_SANDBOX_URL"
SCHEMA_ENV = "DRILL_SANDBOX_SCHEMA"


def child_env() -> dict[str, str]:
    """What the checker child starts with, before it knows its run.

    Learner code gets only the run's credentials (added later), never DRILL_DATABASE_URL's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def sandbox_env(url: str, schema: str) -> dict[str, str]:
    """What the child adds once it is given its run."""
    return {URL_ENV: url, SCHEMA_ENV: schema}
