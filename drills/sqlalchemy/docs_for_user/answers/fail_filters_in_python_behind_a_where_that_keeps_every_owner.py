# expect: fail
# message: Python threw
# A WHERE on owner_id that keeps every row (owner_id > 0): Postgres sends every document, and
# the row count it sent back says so.
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
def docs_for_user(session, user_id):
    # Wrong: every document travels; Python keeps the user's (the WHERE filters nothing)
    stmt = select(Document).where(Document.owner_id > 0).order_by(Document.created_at.desc())
    return [d for d in session.scalars(stmt).all() if d.owner_id == user_id]
