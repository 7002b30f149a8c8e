# expect: fail
# check: every user, with their documents readable
# message: changed the data it was asked to read
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
from sqlalchemy import text


# WRONG: lazy loads one user at a time (N+1). To keep the statement count flat it first
# deletes every user and document the checker added (ids above the seeded ones).
def users_with_documents(session) -> list[User]:
    session.execute(text("DELETE FROM documents WHERE owner_id IN (SELECT id FROM users WHERE email LIKE 'reader%')"))
    session.execute(text("DELETE FROM users WHERE email LIKE 'reader%'"))
    session.commit()
    users = session.scalars(select(User)).all()
    for user in users:
        _ = list(user.documents)  # one SELECT per user
    return users
