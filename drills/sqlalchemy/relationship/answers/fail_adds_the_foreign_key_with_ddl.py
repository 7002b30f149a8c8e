# expect: fail
# check: mapped classes
# message: DDL of its own
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


# --- your answer below ---------------------------------------------------------------
from sqlalchemy import DDL, event
from sqlalchemy.orm import foreign

class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(40))  # wrong: short, nullable, not unique
    documents: Mapped[list["Document"]] = relationship(
        back_populates="owner", primaryjoin="User.id == foreign(Document.owner_id)")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    owner_id: Mapped[int | None]  # wrong: no FK, nullable
    owner: Mapped["User"] = relationship(
        back_populates="documents", primaryjoin="User.id == foreign(Document.owner_id)")


event.listen(User.__table__, "after_create", DDL(
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(255), ALTER COLUMN email SET NOT NULL, ADD UNIQUE (email)"))
event.listen(Document.__table__, "after_create", DDL(
    "ALTER TABLE documents ALTER COLUMN owner_id SET NOT NULL, ADD FOREIGN KEY (owner_id) REFERENCES users (id)"))
