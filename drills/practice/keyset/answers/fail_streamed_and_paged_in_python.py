# expect: fail
# check: no OFFSET
# message: sent more rows than the page shows
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, and_, func, or_, select, tuple_
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


def page_after(session, user_id: int, cursor, limit: int):
    # Streamed (a server-side cursor): Postgres sends the rows as they are fetched, all of
    # them here, and Python pages through them.
    stmt = (
        select(Document)
        .where(Document.owner_id == user_id)
        .order_by(Document.created_at.desc(), Document.id.desc())
        .limit(1000)
        .execution_options(stream_results=True)
    )
    docs = list(session.scalars(stmt))
    if cursor is not None:
        docs = [d for d in docs if (d.created_at, d.id) < cursor]
    page = docs[:limit]
    return page, ((page[-1].created_at, page[-1].id) if page else None)
