# expect: fail
# check: documents.owner_id is a required foreign key
# message: accepts NULL
# Wrong models behind tables that other, right models made first: the checker builds the
# tables from the answer's own models, so those are what is judged.
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from drillkit.sandbox import engine


class _Right(DeclarativeBase):
    pass


class _U(_Right):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)


class _D(_Right):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


_Right.metadata.create_all(engine)


# The answer: email has no length and no unique; owner_id is a plain nullable int (no FK)
class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None]
    documents: Mapped[list["Document"]] = relationship(
        back_populates="owner", primaryjoin="User.id == foreign(Document.owner_id)")


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    body: Mapped[str]
    owner_id: Mapped[int | None]
    owner: Mapped["User"] = relationship(
        back_populates="documents", primaryjoin="User.id == foreign(Document.owner_id)")
