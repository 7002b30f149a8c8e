"""drillkit.sandbox's async side: built on first use only, bound like the sync engine.

Sync drills must not pay for SQLAlchemy's asyncio extension; the async drill gets an
engine on psycopg's async driver with the run schema first on its search_path.
"""

from __future__ import annotations

import json
import subprocess
import sys

from drillkit.run.env import SCHEMA_ENV, URL_ENV

PROBE = """
import json, sys
import drillkit.sandbox as sandbox
from drillkit.sandbox import *
report = {"after_import": "sqlalchemy.ext.asyncio" in sys.modules}
from drillkit.sandbox import AsyncSessionLocal, async_engine
report.update(
    after_use="sqlalchemy.ext.asyncio" in sys.modules,
    driver=async_engine.url.drivername,
    is_async=async_engine.dialect.is_async,
    bound=AsyncSessionLocal.kw["bind"] is async_engine,
    expire_on_commit=AsyncSessionLocal.kw["expire_on_commit"],
    same_twice=sandbox.async_engine is async_engine,
    unknown=not hasattr(sandbox, "no_such_name"),
)
print(json.dumps(report))
"""


def test_async_engine_is_lazy_and_on_the_async_driver() -> None:
    # That it reaches the run schema is proved by the async drill's known answers, which
    # query the unqualified `documents` table through it.
    env = {
        URL_ENV: "postgresql+psycopg://someone:secret@/db?host=/nowhere",  # never connected to
        SCHEMA_ENV: "drill_run_probe",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["after_import"] is False  # a sync drill, even with a star import, never loads it
    assert report["after_use"] is True
    assert report["driver"] == "postgresql+psycopg"
    assert report["is_async"] is True
    assert report["bound"] is True
    assert report["expire_on_commit"] is False
    assert report["same_twice"] is True
    assert report["unknown"] is True
