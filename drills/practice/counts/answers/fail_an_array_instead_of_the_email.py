# expect: fail
# check: every user appears once
# message: first value is not an email
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


from sqlalchemy.dialects.postgresql import array


def document_counts(session):
    n = func.count(Document.id)
    stmt = (
        select(array([User.email]), n)  # a one-element array, not the email itself
        .outerjoin(Document, Document.owner_id == User.id)
        .group_by(User.id)
        .order_by(n.desc())
    )
    return session.execute(stmt).all()
