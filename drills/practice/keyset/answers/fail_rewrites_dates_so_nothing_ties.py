# expect: fail
# check: page_after(session, user_id, cursor, limit) is a function
# message: changes the database
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
from sqlalchemy import text as _text
from drillkit.sandbox import session as _s

# WRONG: the cursor holds only created_at, so tied rows would be skipped; the file first
# spreads the tied created_at values apart by id, so no tie is left for the checks to find.
_s.execute(_text("UPDATE documents SET created_at = created_at + id * interval '1 microsecond'"))
_s.commit()


def page_after(session, user_id: int, cursor, limit: int):
    stmt = (
        select(Document)
        .where(Document.owner_id == user_id)
        .order_by(Document.created_at.desc())
        .limit(limit)
    )
    if cursor is not None:
        stmt = stmt.where(Document.created_at < cursor)
    docs = list(session.scalars(stmt))
    return docs, (docs[-1].created_at if docs else None)
