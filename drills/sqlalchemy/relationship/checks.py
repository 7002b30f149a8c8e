"""Drill 2 · relationship: User 1-n Document, a real foreign key, both sides linked."""

from __future__ import annotations

from drillkit.check import Checks, Context, DatabaseView, Fail
from drillkit.check.models import configured, mapped_class, new_instance
from drillkit.check.schema import (
    create_tables,
    require_column,
    require_not_null,
    require_table,
    require_table_name,
)

from ..common import MODEL_FORMS, add_style_check, body_column, title_column

# The learner makes these tables: an extra Computed() column is theirs to add, and every
# column the checks read is judged by its catalog facts.
checks = Checks(allows={"generated"})


@checks.add("User and Document are mapped classes for `users` and `documents`")
def mapped(ctx: Context) -> None:
    # Relationships are resolved later, in their own check, so a typo there is reported there.
    user_cls = mapped_class(ctx, "User", configure=False)
    document_cls = mapped_class(ctx, "Document", configure=False)
    require_table_name(user_cls, "users")
    require_table_name(document_cls, "documents")
    create_tables(ctx, user_cls)
    if document_cls.metadata is not user_cls.metadata:
        create_tables(ctx, document_cls)


@checks.database("documents.owner_id is a required foreign key to users.id, in Postgres", requires=[mapped])
def foreign_key(db: DatabaseView) -> None:
    columns = require_table(db, "documents")
    require_table(db, "users")
    if "owner_id" not in columns:
        raise Fail(
            "documents has no owner_id column",
            expected="an integer owner_id column on documents",
            actual=f"columns: {', '.join(columns)}",
        )
    require_not_null(columns["owner_id"], "documents")  # a document without an owner is not allowed
    keys = db.foreign_keys("documents")
    if not any(k.columns == ("owner_id",) for k in keys):
        raise Fail(
            "owner_id is a plain integer: Postgres does not know it points at users.id",
            expected="FOREIGN KEY (owner_id) REFERENCES users (id)",
            actual=f"{len(keys)} foreign key{'s' if len(keys) != 1 else ''} on documents",
            help="the constraint comes from the column definition (a ForeignKey naming table.column); "
            "relationship() alone does not make one",
        )
    targets = [(k.table, k.referred) for k in keys if k.columns == ("owner_id",)]
    if ("users", ("id",)) not in targets:
        raise Fail(
            "owner_id's foreign key points at the wrong place",
            expected="users (id)",
            actual=", ".join(f"{t} ({', '.join(c)})" for t, c in targets),
            help="a ForeignKey names the table (its __tablename__) and column, not the class",
        )


@checks.database("users.email is required text of at most 255 characters, and unique", requires=[mapped])
def email(db: DatabaseView) -> None:
    column = require_column(require_table(db, "users"), "users", "email")
    if column.length != 255:
        raise Fail(
            "`email` does not have the 255-character limit",
            expected="character varying(255)",
            actual=column.type,
            help="the length limit comes from the column type",
        )
    require_not_null(column, "users")
    if ["email"] not in db.unique_column_sets("users"):
        raise Fail(
            "two users could share an email: Postgres has no unique constraint on it",
            expected="UNIQUE (email)",
            actual="no unique constraint or unique index on email",
            help="uniqueness is one of mapped_column()'s options",
        )


@checks.database(
    "documents keeps drill 1's title (at most 200 characters) and body, both required", requires=[mapped]
)
def document_columns(db: DatabaseView) -> None:
    title_column(db)
    body_column(db)


@checks.add("User.documents and Document.owner are relationships linked to each other", requires=[mapped])
def relationships(ctx: Context) -> None:
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import RelationshipDirection

    user_cls, document_cls = ctx.namespace["User"], ctx.namespace["Document"]
    configured()
    documents = sa_inspect(user_cls).relationships.get("documents")
    owner = sa_inspect(document_cls).relationships.get("owner")
    for cls, rel, name, shape in (
        (user_cls, documents, "documents", "a relationship holding a list of Document objects"),
        (document_cls, owner, "owner", "a relationship holding one User"),
    ):
        if rel is None:
            raise Fail(
                f"`{cls.__name__}.{name}` is not a relationship()",
                expected=shape,
                actual=f"attributes: {', '.join(sa_inspect(cls).attrs.keys())}",
                help="a ForeignKey column alone gives you no Python navigation",
            )
    assert documents is not None and owner is not None
    if documents.direction is not RelationshipDirection.ONETOMANY or not documents.uselist:
        raise Fail(
            "`User.documents` should be the one-to-many side: a list",
            expected="one-to-many, a list",
            actual=f"{documents.direction.name}, uselist={documents.uselist}",
            help="the annotation's type decides: a list of the other class",
        )
    if documents.backref or owner.backref:
        raise Fail(
            "the link is made with backref=, which creates the other side behind your back",
            expected="both attributes declared in their classes, each naming the other",
            actual="backref=" + repr(documents.backref or owner.backref),
            help="declare both attributes yourself and link them with back_populates: "
            "a reader of either class then sees the relationship",
        )
    if documents.back_populates != "owner" or owner.back_populates != "documents":
        raise Fail(
            "the two sides are not linked to each other",
            expected="each side's back_populates names the attribute on the other class",
            actual=f"User.documents back_populates={documents.back_populates!r}, "
            f"Document.owner back_populates={owner.back_populates!r}",
            help="without the link, changing one side leaves the other stale until a reload",
        )


def _collection(user: object) -> list:
    docs = user.documents  # type: ignore[attr-defined]
    if not hasattr(docs, "append"):
        raise Fail(
            "`user.documents` cannot be appended to",
            expected="a list collection",
            actual=f"{type(docs).__name__}",
            help="this drill asks for the plain list form (Mapped[list[...]]), "
            "not a set or a write-only collection",
        )
    return docs


@checks.add("changing one side updates the other, in memory", requires=[relationships])
def in_sync(ctx: Context) -> None:
    user_cls, document_cls = ctx.namespace["User"], ctx.namespace["Document"]
    user = new_instance(user_cls, email="sync@example.com")
    doc = new_instance(document_cls)
    _collection(user).append(doc)
    if doc.owner is not user:
        raise Fail(
            "after user.documents.append(doc), doc.owner is not that user",
            expected="doc.owner is user",
            actual=f"doc.owner = {doc.owner!r}",
            help="the link between the two sides is what keeps the other one in step",
        )
    other = new_instance(document_cls)
    other.owner = user
    if other not in user.documents:
        raise Fail(
            "after doc.owner = user, the doc is not in user.documents",
            expected="doc in user.documents",
            actual=f"user.documents = {list(user.documents)!r}"[:300],
        )


@checks.add("saving through the relationship fills documents.owner_id", requires=[relationships])
def persisted(ctx: Context) -> None:
    user_cls, document_cls = ctx.namespace["User"], ctx.namespace["Document"]
    with ctx.new_session() as session:
        user = new_instance(user_cls, email="owner@example.com")
        docs = [new_instance(document_cls), new_instance(document_cls)]
        _collection(user).append(docs[0])
        user.documents.append(docs[1])
        session.add(user)
        session.commit()
        # The documents' ids from the objects themselves: reading user.documents again would
        # load the collection, which a model may forbid (lazy="raise") without being wrong.
        user_id, doc_ids = user.id, [d.id for d in docs]
    # Only our two rows: the learner's file may have saved some of its own.
    owners = [
        r[0] for r in ctx.rows("SELECT owner_id FROM documents WHERE id = ANY(:ids) ORDER BY id", ids=doc_ids)
    ]
    if owners != [user_id, user_id]:
        raise Fail(
            "the documents were not saved with their owner's id",
            expected=f"owner_id {user_id} on both rows",
            actual=f"owner_id values {owners}",
        )


add_style_check(checks, MODEL_FORMS)
