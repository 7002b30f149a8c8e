# expect: fail
# check: every user, with their documents readable
# message: closed the session it was given
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload


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


def users_with_documents(session) -> list[User]:
    # One SELECT for the users, one more for all their documents (WHERE owner_id IN ...).
    stmt = select(User).options(selectinload(User.documents))
    users = session.scalars(stmt).all()
    session.close()  # done with the database: but the session is the caller's
    return users
