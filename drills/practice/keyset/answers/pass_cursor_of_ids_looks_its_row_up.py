# expect: pass
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
def page_after(session, user_id, cursor, limit):
    stmt = select(Document).where(Document.owner_id == user_id)
    if cursor is not None:
        # the cursor is the id of the last document shown; look up its created_at
        last_created = session.scalar(select(Document.created_at).where(Document.id == cursor))
        stmt = stmt.where(tuple_(Document.created_at, Document.id) < tuple_(last_created, cursor))
    docs = list(session.scalars(stmt.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit)))
    return docs, (docs[-1].id if docs else None)
