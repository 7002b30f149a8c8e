"""The embedded server's own settings, written once with ALTER SYSTEM (postgresql.auto.conf).

It holds only disposable run schemas (progress lives elsewhere), so it trades crash safety
for speed, as testing.postgresql does with `-F`: no fsync and no waiting for commits. A
shutdown after a busy session once synced 5,139 files for 16.6 s, past the wait of `drill db
stop`; every check commits a schema, its seed and its drop. After an OS crash (not a crash of
Postgres) the data dir may be damaged: `drill db reset` makes a new one.
"""

from __future__ import annotations

from pathlib import Path

FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def settings_sql() -> str:
    """For single-user mode: one statement a line."""
    return "".join(f"ALTER SYSTEM SET {name} = '{value}'\n" for name, value in FAST_SETTINGS.items())


def has_fast_settings(pgdata: Path) -> bool:
    """Whether the data dir's postgresql.auto.conf already holds every one of them."""
    try:
        text = (pgdata / "postgresql.auto.conf").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    lines = {line.strip() for line in text.splitlines()}
    return all(f"{name} = '{value}'" in lines for name, value in FAST_SETTINGS.items())
