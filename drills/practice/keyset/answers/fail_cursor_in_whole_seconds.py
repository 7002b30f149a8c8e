# expect: fail
# check: walking all pages
# message: five documents in one second
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


from datetime import timezone


def page_after(session, user_id: int, cursor, limit: int):
    # A short cursor for a URL: whole seconds and the id. It loses the microseconds.
    stmt = (
        select(Document)
        .where(Document.owner_id == user_id)
        .order_by(Document.created_at.desc(), Document.id.desc())
        .limit(limit)
    )
    if cursor is not None:
        seconds, last_id = map(int, cursor.split(":"))
        when = datetime.fromtimestamp(seconds, tz=timezone.utc)
        stmt = stmt.where(tuple_(Document.created_at, Document.id) < tuple_(when, last_id))
    docs = session.scalars(stmt).all()
    if not docs:
        return [], None
    last = docs[-1]
    return list(docs), f"{int(last.created_at.timestamp())}:{last.id}"
