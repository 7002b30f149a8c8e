"""What a run schema must not gain: objects that change what a check's SQL means.

Checks read the learner's tables with plain SQL (`FROM documents WHERE title = :t`), and a
schema's owner can redefine those words inside it: a view named like the table, a rule, a
row-level security policy that hides rows, an operator `=` or a function `count` that wins
over the built-in one, a collation, a table inheriting from the checked one (its rows
show up in the parent's), a generated column computed when read, or settings of the run
role itself (`ALTER ROLE ... SET`). Or it can let another role in to do so after this scan
(a grant on the schema, a table or a column; membership in the run role, which a role
could grant itself on PostgreSQL 14 and older); another run of the same learner is such a role.
Any of these made by the learner's run, and not asked for by the drill
(`Checks(allows=...)`), fails the run before any result counts: the database checks do not
run, and the child's results are set aside.

The catalogs are read on drillkit's admin connection, whose `search_path` is `pg_catalog`
alone (space.connect), so no operator or function of the learner's takes part in the scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

    from drillkit.pack.model import Fixture

# (kind, what) for every such object of the schema, and every setting of the role.
_SCAN = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s),
-- What lives in the schema, found through pg_depend's index rather than by scanning pg_proc,
-- pg_class or pg_attribute (every object made in a schema depends on it; an index depends on
-- its table instead: no rule, policy, grant or generated column belongs to an index, and an
-- index of a partition "inheriting" its parent's index changes no query's meaning).
inside AS MATERIALIZED (
    SELECT d.classid, d.objid FROM pg_depend d, ns
    WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ns.oid AND d.deptype = 'n'
),
rels AS MATERIALIZED (
    SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity
    FROM inside i JOIN pg_class c ON c.oid = i.objid
    WHERE i.classid = 'pg_class'::regclass
)
SELECT 'function', p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM inside i JOIN pg_proc p ON p.oid = i.objid WHERE i.classid = 'pg_proc'::regclass
UNION ALL
SELECT 'operator', o.oprname::text || ' (' || coalesce(format_type(o.oprleft, NULL), 'none') || ', '
    || coalesce(format_type(o.oprright, NULL), 'none') || ')'
FROM inside i JOIN pg_operator o ON o.oid = i.objid WHERE i.classid = 'pg_operator'::regclass
UNION ALL
SELECT 'view', c.relname::text FROM rels c WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT 'rule', r.rulename::text || ' on ' || c.relname::text
FROM rels c JOIN pg_rewrite r ON r.ev_class = c.oid WHERE c.relkind NOT IN ('v', 'm')
UNION ALL
SELECT 'policy', p.polname::text || ' on ' || c.relname::text
FROM rels c JOIN pg_policy p ON p.polrelid = c.oid
UNION ALL
SELECT 'policy', 'row-level security on ' || c.relname::text
FROM rels c WHERE c.relrowsecurity OR c.relforcerowsecurity
UNION ALL
SELECT 'collation', l.collname::text
FROM inside i JOIN pg_collation l ON l.oid = i.objid WHERE i.classid = 'pg_collation'::regclass
UNION ALL
SELECT 'inheritance', c.relname::text || ' inherits from ' || p.relname::text
FROM rels c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent
UNION ALL
SELECT 'generated', c.relname::text || '.' || a.attname::text
FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
UNION ALL
SELECT 'trigger', t.tgname::text || ' on ' || c.relname::text
FROM rels c JOIN pg_trigger t ON t.tgrelid = c.oid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'grant', g.privilege_type || ' on schema to '
    || CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END
FROM pg_namespace n, aclexplode(n.nspacl) g, ns WHERE n.oid = ns.oid AND g.grantee <> n.nspowner
UNION ALL
SELECT 'grant', g.privilege_type || ' on ' || c.relname::text || ' to '
    || CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END
FROM rels c, aclexplode(c.relacl) g WHERE g.grantee <> c.relowner
UNION ALL
SELECT 'grant', g.privilege_type || ' on ' || c.relname::text || '.' || a.attname::text || ' to '
    || CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END
FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid, aclexplode(a.attacl) g
WHERE a.attacl IS NOT NULL AND g.grantee <> c.relowner
UNION ALL
SELECT 'role setting', unnest(s.setconfig)
FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = %(role)s
UNION ALL
SELECT 'role member', m.member::regrole::text
FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = %(role)s
"""

Objects = frozenset[tuple[str, str]]


def scan(conn: psycopg.Connection, schema: str, role: str | None) -> Objects:
    """Every object of the kinds above in `schema`, and every setting of `role`; the schema's
    own name reads SCHEMA (the role's search_path names it), so that two fresh spaces of one
    fixture scan alike (see baseline)."""
    rows = conn.execute(_SCAN, {"schema": schema, "role": role}).fetchall()
    return frozenset((str(kind), str(what).replace(schema, SCHEMA)) for kind, what in rows)


SCHEMA = "<the run schema>"
_baselines: dict[tuple[object, ...], Objects] = {}


def baseline(conn: psycopg.Connection, schema: str, role: str | None, fixture: Fixture) -> Objects:
    """What a space holds once its fixture is in: scanned once per fixture file and version
    (a check server makes hundreds of spaces from a handful of fixtures). A Python fixture is
    code, and is scanned every time."""
    if fixture.python is not None:
        return scan(conn, schema, role)
    try:
        stat = fixture.sql.stat() if fixture.sql is not None else None
    except OSError:
        return scan(conn, schema, role)
    info = conn.info  # the server and user too: a role's members include whoever made it
    where = (info.host, info.port, info.dbname, info.user)
    key = (fixture.sql, stat and (stat.st_mtime_ns, stat.st_size, stat.st_ino), role is None, where)
    if key not in _baselines:
        _baselines[key] = scan(conn, schema, role)
    return _baselines[key]


def gained(before: Objects, after: Objects, allows: frozenset[str] = frozenset()) -> list[str]:
    """What the run made that the drill does not allow, as the learner would name it."""
    return sorted(f"{kind} {what}" for kind, what in after - before if kind not in allows)
