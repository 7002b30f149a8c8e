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
# class Tag(Base): ...
# document_tags = Table("document_tags", Base.metadata, ...)


def docs_tagged(session, name):
    """The documents carrying the tag called `name`, in id order."""
    # The task says what to add; `drill hint` nudges.
    return []
