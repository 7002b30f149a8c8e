# expect: pass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
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


# --- your answer below ---------------------------------------------------------------
from sqlalchemy import tuple_


def page_after(session, user_id, cursor, limit):
    """Fetch one row more than the page: if it exists, there is a next page."""
    newest_first = (Document.created_at.desc(), Document.id.desc())
    stmt = select(Document).where(Document.owner_id == user_id).order_by(*newest_first)
    if cursor is not None:
        at, _, last_id = cursor.partition("|")
        stmt = stmt.where(
            tuple_(Document.created_at, Document.id) < (datetime.fromisoformat(at), int(last_id))
        )
    rows = session.scalars(stmt.limit(limit + 1)).all()
    page, more = rows[:limit], len(rows) > limit
    next_cursor = f"{page[-1].created_at.isoformat()}|{page[-1].id}" if more else None
    return page, next_cursor
