"""libpq's environment variables: which there are, and setting this process's to exactly some."""

from __future__ import annotations

import os

# libpq's environment variables (and the server tools' PGDATA): each one changes how a
# connection is made or what its session is like (PGPORT, PGOPTIONS, PGDATESTYLE, ...).
LIBPQ_ENV = frozenset(
    {
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGREQUIREAUTH",
        "PGCHANNELBINDING",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGOPTIONS",
        "PGAPPNAME",
        "PGSSLMODE",
        "PGREQUIRESSL",
        "PGSSLNEGOTIATION",
        "PGSSLCOMPRESSION",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGSSLCERTMODE",
        "PGSSLROOTCERT",
        "PGSSLCRL",
        "PGSSLCRLDIR",
        "PGSSLSNI",
        "PGREQUIREPEER",
        "PGSSLMINPROTOCOLVERSION",
        "PGSSLMAXPROTOCOLVERSION",
        "PGMINPROTOCOLVERSION",
        "PGMAXPROTOCOLVERSION",
        "PGGSSENCMODE",
        "PGKRBSRVNAME",
        "PGGSSLIB",
        "PGGSSDELEGATION",
        "PGCONNECT_TIMEOUT",
        "PGCLIENTENCODING",
        "PGTARGETSESSIONATTRS",
        "PGLOADBALANCEHOSTS",
        "PGDATESTYLE",
        "PGTZ",
        "PGGEQO",
        "PGSYSCONFDIR",
        "PGLOCALEDIR",
        "PGDATA",
    }
)


def libpq_settings() -> dict[str, str]:
    """This process's libpq variables, as they are now."""
    return {name: value for name, value in os.environ.items() if name in LIBPQ_ENV}


def set_libpq_settings(settings: dict[str, str]) -> None:
    """Make this process's libpq variables exactly `settings` (libpq reads them at every
    connect): the checks' own connections are made as drillkit meant, whatever learner code
    set meanwhile, and the embedded server ignores what a user's shell set for another."""
    for name in LIBPQ_ENV - settings.keys():
        os.environ.pop(name, None)
    os.environ.update(settings)
