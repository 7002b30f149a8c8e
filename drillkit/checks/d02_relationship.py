"""Drill 2 · relationship: User 1-n Document, a real foreign key, both sides linked."""

from __future__ import annotations

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import RelationshipDirection

from drillkit.check.framework import CheckList, Context, Fail
from drillkit.check.schema import reflected_columns, require_column, require_table
from drillkit.checks.helpers import configured, legacy_style, mapped_class, new_instance

CHECKS = CheckList()


@CHECKS.add("User and Document are mapped classes in 2.0 style")
def style(ctx: Context) -> None:
    legacy_style(ctx)
    # Relationships are resolved later, in their own check, so a typo there is reported there.
    mapped_class(ctx, "User", configure=False)
    mapped_class(ctx, "Document", configure=False)


@CHECKS.add("documents.owner_id is a foreign key to users.id")
def foreign_key(ctx: Context) -> None:
    document_cls = ctx.namespace["Document"]
    column = document_cls.__table__.columns.get("owner_id")
    if column is None:
        raise Fail(
            "Document has no owner_id column",
            expected='owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))',
            actual=f"columns: {', '.join(document_cls.__table__.columns.keys())}",
        )
    targets = [fk.target_fullname for fk in column.foreign_keys]
    if not targets:
        raise Fail(
            "owner_id has no foreign keys, so Postgres would not know owner_id points at users.id",
            expected='mapped_column(ForeignKey("users.id"))',
            actual="a plain integer column",
            help="the ForeignKey makes the constraint; relationship() alone does not",
        )
    if targets != ["users.id"]:
        raise Fail(
            "owner_id's ForeignKey points at the wrong place",
            expected='ForeignKey("users.id")  (table name, dot, column)',
            actual=", ".join(f'ForeignKey("{t}")' for t in targets),
            help="name the table (__tablename__ = 'users'), not the class User",
        )


@CHECKS.add("tables `users` and `documents` are created in Postgres, with the real constraint")
def tables(ctx: Context) -> None:
    require_table(ctx, ctx.namespace["User"], "users")
    require_table(ctx, ctx.namespace["Document"], "documents")
    keys = sa_inspect(ctx.truth).get_foreign_keys("documents")
    wanted = (["owner_id"], "users", ["id"])
    found = [(k["constrained_columns"], k["referred_table"], k["referred_columns"]) for k in keys]
    if wanted not in found:
        raise Fail(
            "Postgres has no FOREIGN KEY (owner_id) REFERENCES users (id)",
            actual=f"{len(keys)} foreign key(s) on documents",
        )


@CHECKS.add("users.email is VARCHAR(255) and unique")
def email(ctx: Context) -> None:
    column = require_column(reflected_columns(ctx, "users"), "users", "email")
    if getattr(column["type"], "length", None) != 255:
        raise Fail(
            "`email` does not have the 255-character limit",
            expected="VARCHAR(255)",
            actual=str(column["type"]),
            help="the length limit comes from the column type; uniqueness is a mapped_column() option",
        )
    inspector = sa_inspect(ctx.truth)
    unique = [c["column_names"] for c in inspector.get_unique_constraints("users")]
    unique += [i["column_names"] for i in inspector.get_indexes("users") if i["unique"]]
    if ["email"] not in unique:
        raise Fail(
            "two users could share an email: Postgres has no unique constraint on it",
            expected="UNIQUE (email)",
            actual="no unique constraint or unique index on email",
            help="add unique=True to the email mapped_column",
        )


@CHECKS.add("User.documents and Document.owner are relationships linked by back_populates")
def relationships(ctx: Context) -> None:
    user_cls, document_cls = ctx.namespace["User"], ctx.namespace["Document"]
    configured()
    documents = sa_inspect(user_cls).relationships.get("documents")
    owner = sa_inspect(document_cls).relationships.get("owner")
    for cls, rel, name, shape in (
        (
            user_cls,
            documents,
            "documents",
            'documents: Mapped[list["Document"]] = relationship(...)',
        ),
        (document_cls, owner, "owner", 'owner: Mapped["User"] = relationship(...)'),
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
            expected="ONETOMANY, a list",
            actual=f"{documents.direction.name}, uselist={documents.uselist}",
            help='annotate it as Mapped[list["Document"]]',
        )
    if documents.backref or owner.backref:
        raise Fail(
            "the link is made with backref=, which creates the other side behind your back",
            expected='relationship(back_populates="owner") on User and '
            'relationship(back_populates="documents") on Document',
            actual="backref=" + repr(documents.backref or owner.backref),
            help="declare both attributes yourself and link them with back_populates: "
            "a reader of either class then sees the relationship",
        )
    if documents.back_populates != "owner" or owner.back_populates != "documents":
        raise Fail(
            "the two sides are not linked to each other with back_populates",
            expected='relationship(back_populates="owner") and relationship(back_populates="documents")',
            actual=f"User.documents back_populates={documents.back_populates!r}, "
            f"Document.owner back_populates={owner.back_populates!r}",
            help="each back_populates names the attribute on the other class",
        )


@CHECKS.add("changing one side updates the other, in memory")
def in_sync(ctx: Context) -> None:
    user_cls, document_cls = ctx.namespace["User"], ctx.namespace["Document"]
    user = new_instance(user_cls, email="sync@example.com")
    doc = new_instance(document_cls)
    user.documents.append(doc)
    if doc.owner is not user:
        raise Fail(
            "after user.documents.append(doc), doc.owner is not that user",
            expected="doc.owner is user",
            actual=f"doc.owner = {doc.owner!r}",
            help="back_populates is what keeps the other side in step",
        )
    other = new_instance(document_cls)
    other.owner = user
    if other not in user.documents:
        raise Fail(
            "after doc.owner = user, the doc is not in user.documents",
            expected="doc in user.documents",
            actual=f"user.documents = {list(user.documents)!r}"[:300],
        )


@CHECKS.add("saving through the relationship fills documents.owner_id")
def persisted(ctx: Context) -> None:
    user_cls, document_cls = ctx.namespace["User"], ctx.namespace["Document"]
    with ctx.new_session() as session:
        user = new_instance(user_cls, email="owner@example.com")
        user.documents.append(new_instance(document_cls))
        user.documents.append(new_instance(document_cls))
        session.add(user)
        session.commit()
        user_id, doc_ids = user.id, [d.id for d in user.documents]
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
