"""Many-to-many: the association table by reflection (keys and foreign keys), then rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import MANYTOMANY

from drillkit.check import Checks, Context, Fail, held_lock, plural, show_sql, waited_on_a_lock

from ..common import call, mapped, one_line, require_function, seeded, unused_session

checks = Checks()
LINK = "document_tags"


def _relationship(cls: type, name: str, other: str) -> Any:
    prop = sa_inspect(cls).relationships.get(name)
    if prop is None:
        raise Fail(
            f"`{cls.__name__}` has no `{name}` relationship",
            expected=f"{cls.__name__}.{name}: a list of {other} objects",
            actual=", ".join(sa_inspect(cls).relationships.keys()) or "no relationships",
            help=f"declare `{name}` with relationship(...) on {cls.__name__}",
        )
    if prop.direction is not MANYTOMANY:
        kind = {"ONETOMANY": "one-to-many", "MANYTOONE": "many-to-one"}.get(prop.direction.name, "")
        raise Fail(
            f"{cls.__name__}.{name} is {kind}, not many-to-many",
            expected=f"many tags per document and many documents per tag, through `{LINK}`",
            actual=f"{cls.__name__}.{name} follows a foreign key column, and a column holds one value: "
            "each tag could sit on one document only",
            help="the links go into a table of their own, which the relationship names with secondary=",
        )
    return prop


@checks.add("Tag is a model; Document.tags and Tag.documents are many-to-many, linked to each other")
def models(ctx: Context) -> None:
    document = mapped(ctx, "Document")
    tag = mapped(ctx, "Tag")
    forward = _relationship(document, "tags", "Tag")
    backward = _relationship(tag, "documents", "Document")
    if forward.secondary is None or forward.secondary.name != LINK:
        raise Fail(
            "Document.tags does not go through the `document_tags` table",
            expected=f"secondary= the `{LINK}` table",
            actual=f"secondary={getattr(forward.secondary, 'name', None)!r}",
        )
    if forward._reverse_property != {backward}:
        raise Fail(
            "Document.tags and Tag.documents are not linked to each other",
            expected="back_populates on both sides, each naming the other attribute",
            actual="two independent relationships: appending on one side leaves the other stale "
            "until the next load",
            help='relationship(..., back_populates="documents") on Document.tags and '
            'back_populates="tags" on Tag.documents',
        )


@checks.add("the tables tags and document_tags exist in Postgres", requires=[models])
def tables(ctx: Context) -> None:
    tag = ctx.namespace["Tag"]
    ctx.close_file_sessions()  # a try-out's open transaction would hold the CREATE up
    try:
        tag.metadata.create_all(ctx.engine)
    except Exception as exc:
        if waited_on_a_lock(exc):
            raise held_lock(exc, "the tables") from None
        raise Fail(
            "Postgres refused to create your tables",
            actual=one_line(exc, 600),
            help="the CREATE TABLE statements are built from your Tag model and association table",
        ) from None
    names = sa_inspect(ctx.truth).get_table_names()
    for table in ("tags", LINK):
        if table not in names:
            raise Fail(
                f"there is no `{table}` table",
                expected=table,
                actual=", ".join(sorted(n for n in names if n not in ("users", "documents")))
                or "nothing new",
                help="other code queries the tables by name: the names are part of the task",
            )
    columns = {c["name"]: c for c in sa_inspect(ctx.truth).get_columns("tags")}
    name = columns.get("name")
    if name is None or name["nullable"] or getattr(name["type"], "length", None) != 50:
        raise Fail(
            "tags.name is not a required text of at most 50 characters",
            expected="name varchar(50) NOT NULL",
            actual=f"{name['type']} {'NULL' if name['nullable'] else 'NOT NULL'}"
            if name
            else "no name column",
        )
    inspector = sa_inspect(ctx.truth)
    unique = [u["column_names"] for u in inspector.get_unique_constraints("tags")]
    unique += [i["column_names"] for i in inspector.get_indexes("tags") if i["unique"]]
    if ["name"] not in unique:
        raise Fail(
            "tags.name is not unique",
            expected="one tag per name",
            actual="two tags could share a name",
            help="unique=True on the name column",
        )


@checks.add("document_tags has a foreign key to documents.id and one to tags.id", requires=[tables])
def foreign_keys(ctx: Context) -> None:
    keys = {
        (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for fk in sa_inspect(ctx.truth).get_foreign_keys(LINK)
    }
    for column, table in (("document_id", "documents"), ("tag_id", "tags")):
        if ((column,), table, ("id",)) not in keys:
            raise Fail(
                f"document_tags.{column} is not a foreign key to {table}.id",
                expected=f"{column} REFERENCES {table} (id)",
                actual=", ".join(f"{c[0]} -> {t}.{r[0]}" for c, t, r in sorted(keys)) or "no foreign keys",
                help="without it Postgres accepts links to rows that do not exist (or no longer do)",
            )


@checks.add("its primary key is the pair (document_id, tag_id)", requires=[tables])
def composite_key(ctx: Context) -> None:
    key = sa_inspect(ctx.truth).get_pk_constraint(LINK)["constrained_columns"] or []
    if sorted(key) != ["document_id", "tag_id"]:
        raise Fail(
            "the same tag can be attached to the same document twice",
            expected="PRIMARY KEY (document_id, tag_id)",
            actual=f"PRIMARY KEY ({', '.join(key)})" if key else "no primary key",
            help="the pair itself identifies a link; make both columns part of the primary key, "
            "and no extra id column",
        )


def _tag(ctx: Context, name: str) -> Any:
    try:
        return ctx.namespace["Tag"](name=name)
    except TypeError as exc:
        raise Fail("Tag(name=...) cannot be called", actual=one_line(exc)) from None


@checks.add(
    "appending on either side writes the links (urgent on 1 and 6, finance on 2 and 9)", requires=[tables]
)
def links_written(ctx: Context) -> None:
    document = ctx.namespace["Document"]
    seeded(ctx, "documents 1, 2, 6 and 9", "SELECT id FROM documents WHERE id IN (1, 2, 6, 9)", count=4)
    with ctx.new_session() as session:
        urgent, finance = _tag(ctx, "urgent"), _tag(ctx, "finance")
        # Strong references: the session only holds loaded objects weakly.
        docs = {i: session.get(document, i) for i in (1, 2, 6, 9)}
        for doc in docs.values():
            _ = list(doc.tags)  # loaded (empty) now, so an append from the other side shows at once
        docs[1].tags.append(urgent)
        docs[6].tags.append(urgent)
        finance.documents.append(docs[2])
        finance.documents.append(docs[9])
        seen = {
            "urgent.documents": sorted(d.id for d in urgent.documents),
            "document 9's tags": sorted(t.name for t in docs[9].tags),
        }
        want = {"urgent.documents": [1, 6], "document 9's tags": ["finance"]}
        for side, value in seen.items():
            if value != want[side]:
                raise Fail(
                    f"after appending on one side, {side} does not show it",
                    expected=f"{want[side]}, before anything is flushed",
                    actual=str(value),
                    help="back_populates on both relationships, each naming the other, keeps the two "
                    "sides in step in memory",
                )
        session.add_all([urgent, finance])
        session.commit()
    # The links of this check's own tags: a try-out's tags and links are the file's business.
    rows = ctx.rows(
        f"SELECT l.document_id, t.name FROM {LINK} l JOIN tags t ON t.id = l.tag_id "
        "WHERE t.name IN ('urgent', 'finance') ORDER BY 1"
    )
    # By repr: a NULL the file's own changes let in sorts with the rest.
    if sorted(map(tuple, rows), key=repr) != [(1, "urgent"), (2, "finance"), (6, "urgent"), (9, "finance")]:
        raise Fail(
            "the links in document_tags are not the ones appended",
            expected="(1, urgent), (2, finance), (6, urgent), (9, finance)",
            actual=", ".join(f"({d}, {n})" for d, n in rows) or "no rows",
        )


def _docs_tagged(ctx: Context, session: Session, name: str) -> tuple[list[int], Any]:
    fn = require_function(ctx, "docs_tagged", ["session", "name"])
    result = call(ctx, session, fn, name)
    value = result.value
    document = ctx.namespace["Document"]
    if not isinstance(value, list | tuple) or not all(isinstance(d, document) for d in value):
        raise Fail(
            f"docs_tagged(session, {name!r}) did not return a list of Document objects",
            expected="[<Document 1>, <Document 6>]",
            actual=f"{type(value).__name__}: {value!r}"[:200],
            help="select(Document) ... and session.scalars(...).all()",
        )
    return [d.id for d in value], result


@checks.add(
    "docs_tagged(session, name) returns the documents with that tag, in id order", requires=[links_written]
)
def docs_tagged_rows(ctx: Context) -> None:
    seeded(ctx, "documents 3, 4 and 10", "SELECT id FROM documents WHERE id IN (3, 4, 10)", count=3)
    with ctx.new_session() as session:
        document, tag = ctx.namespace["Document"], ctx.namespace["Tag"]
        ten, four, three = session.get(document, 10), session.get(document, 4), session.get(document, 3)
        ten.tags.append(_tag(ctx, "roadmap"))
        four.tags.append(session.scalars(select(tag).where(tag.name == "urgent")).one())
        # A name that holds another: "the tag called urgent" is not every tag that mentions it.
        three.tags.append(_tag(ctx, "not-urgent"))
        session.commit()
    # Rewritten in place, documents 1 and 2 now lie after the others in the table: rows that
    # come back in id order without an ORDER BY were in that order by chance, and no longer are.
    ctx.execute("UPDATE documents SET title = title WHERE id IN (1, 2)")
    expected = {
        "urgent": [1, 4, 6],
        "finance": [2, 9],
        "roadmap": [10],
        "not-urgent": [3],
        "nothing-like-it": [],
    }
    for name, want in expected.items():
        with ctx.new_session() as session:
            got, result = _docs_tagged(ctx, session, name)
        if got != want and sorted(got) == want:
            raise Fail(
                f"docs_tagged(session, {name!r}) returned the right documents in the wrong order",
                expected=", ".join(map(str, want)) + " (ascending id)",
                actual=", ".join(map(str, got)),
                help="without an ORDER BY, Postgres returns rows in whatever order it finds them; "
                "sort on the document's id, lowest first",
                sql=show_sql(result.statements, limit=2),
            )
        if got != want and set(want) < set(got) and name == "urgent":
            raise Fail(
                f"docs_tagged(session, {name!r}) also returned documents of another tag",
                expected=", ".join(map(str, want)),
                actual=", ".join(map(str, got)),
                help="the tag called 'urgent' only: 'not-urgent' (on document 3) merely contains the "
                "name; compare the whole name",
                sql=show_sql(result.statements, limit=2),
            )
        if got != want:
            raise Fail(
                f"docs_tagged(session, {name!r}) returned the wrong documents",
                expected=", ".join(map(str, want)) or "no documents",
                actual=", ".join(map(str, got)) or "no documents",
                help="in id order; join from documents through the tags relationship and filter on the "
                "tag's name",
                sql=show_sql(result.statements, limit=2),
            )
        if want and not result.used_session:
            raise unused_session("docs_tagged", result)
        if want and not any(f"'{name}'" in s.sql for s in result.statements):
            raise Fail(
                "the right documents, but Python did the filtering",
                expected=f"a SELECT whose WHERE mentions the tag's name ({name!r})",
                actual=f"{plural(len(result.statements), 'statement')}, none filtering on the name",
                help="every document (and its tags) travelled to Python to be thrown away; let the "
                "WHERE clause pick them",
                sql=show_sql(result.statements, limit=3),
            )
