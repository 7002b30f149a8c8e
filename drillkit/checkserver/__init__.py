"""The check server: one long-lived process per data dir and database that answers `drill check`.

    drill check ──unix socket──▶ check server ──fork──▶ zygote ──fork──▶ guard ── worker (learner code)
                                  (threads, pool       (imports done,
                                   of run spaces)       no connections)

A fresh `drill check` pays an interpreter start, `import sqlalchemy`, a schema create +
seed and a drop; the server pays them once (`run.service.CheckService`), so a warm check
is a fork and a few queries. The client (client.py) imports no SQLAlchemy and no psycopg;
it starts the server on demand (daemon.py), and falls back to checking in its own process
tree when the server cannot start (`drill doctor` says why). The server exits after the
same idle period as the embedded database, and `drill db stop` stops it first.

address.py: where a server's socket, lock and log live; wire.py: the messages.
"""
