# expect: fail
# check: returns the documents with that tag
# message: another tag
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


# --- given: these models match the tables already in the drill database -------------
class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    documents: Mapped[list["Document"]] = relationship(back_populates="owner")


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped["User"] = relationship(back_populates="documents")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The tags of this document, through the `document_tags` table you will write.
    tags: Mapped[list["Tag"]] = relationship(secondary="document_tags", back_populates="documents")


# --- your answer below ---------------------------------------------------------------
# The link table: one row per (document, tag) pair; the pair is the key, so no duplicates.
document_tags = Table(
    "document_tags",
    Base.metadata,
    Column("document_id", ForeignKey("documents.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    documents: Mapped[list[Document]] = relationship(secondary=document_tags, back_populates="tags")


def docs_tagged(session, name: str) -> list[Document]:
    stmt = select(Document).join(Document.tags).where(Tag.name.contains(name)).order_by(Document.id)
    return list(session.scalars(stmt))
