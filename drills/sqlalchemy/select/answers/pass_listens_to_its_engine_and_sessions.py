# expect: pass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from drillkit.sandbox import engine, session


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
# Listeners of the learner's own, on this engine and on every Session: allowed, as long as
# they leave the SQL alone.
sent = []
selects = []


@event.listens_for(engine, "before_cursor_execute")
def remember(conn, cursor, statement, parameters, context, executemany):
    sent.append(statement)


@event.listens_for(Session, "do_orm_execute")
def count_selects(state):
    if state.is_select:
        selects.append(state.statement)


docs = session.scalars(
    select(Document).where(Document.owner_id == 1).order_by(Document.created_at.desc())
).all()
print(len(sent), "statements,", len(selects), "ORM selects")
