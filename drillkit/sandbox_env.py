"""The environment a check's child process gets (kept apart so the CLI never imports SQLAlchemy)."""

from __future__ import annotations

import os

URL_ENV = "DRILL_SANDBOX_URL"
SCHEMA_ENV = "DRILL_SANDBOX_SCHEMA"


def sandbox_env(url: str, schema: str) -> dict[str, str]:
    # Learner code gets only the run's credentials, never DRILL_DATABASE_URL's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
    env[URL_ENV] = url
    env[SCHEMA_ENV] = schema
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the learner's workspace free of __pycache__
    env["PYTHONUNBUFFERED"] = "1"
    return env
