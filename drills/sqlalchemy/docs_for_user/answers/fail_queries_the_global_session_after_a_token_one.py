# expect: fail
# check: uses the session
# message: another one loaded them
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from drillkit.sandbox import session as db


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
def docs_for_user(session, user_id: int) -> list[Document]:
    # A query on the session it was given, whose result is thrown away...
    session.execute(select(func.count()).select_from(Document)).scalar_one()
    # ...and the real one on the module's global session.
    stmt = select(Document).where(Document.owner_id == user_id).order_by(Document.created_at.desc())
    return list(db.scalars(stmt).all())
