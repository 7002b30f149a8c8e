# expect: fail
# check: a new name
# message: which no row has
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.dialects.postgresql import insert
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


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


# --- your answer below ---------------------------------------------------------------

_ids: dict[str, int] = {}  # asked once, remembered: but a rolled-back row takes its id with it


def ensure_tag(session, name: str) -> int:
    if name in _ids:
        return _ids[name]
    stmt = insert(Tag).values(name=name)
    stmt = stmt.on_conflict_do_update(index_elements=[Tag.name], set_={"name": stmt.excluded.name})
    _ids[name] = session.execute(stmt.returning(Tag.id)).scalar_one()
    return _ids[name]
