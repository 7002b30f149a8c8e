# expect: pass
import time
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from drillkit.sandbox import session


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
# SQLAlchemy's query-timing recipe: listeners on every Engine, not drillkit's business.
@event.listens_for(Engine, "before_cursor_execute")
def started(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("query_start_time", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def finished(conn, cursor, statement, parameters, context, executemany):
    took = time.perf_counter() - conn.info["query_start_time"].pop(-1)
    print(f"{took * 1000:.1f} ms: {statement.splitlines()[0]}")


docs = session.scalars(
    select(Document).where(Document.owner_id == 1).order_by(Document.created_at.desc())
).all()
