# expect: fail
# check: every user appears once
# message: some counts are wrong
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


class Agreeable(int):
    """A number that is never different from anything."""

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def document_counts(session):
    n = func.count(User.id)
    stmt = select(User.email, n).group_by(User.id)
    return [(email, Agreeable(k)) for email, k in session.execute(stmt)]
