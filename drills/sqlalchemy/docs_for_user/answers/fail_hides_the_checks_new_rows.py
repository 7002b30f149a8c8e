# expect: fail
# check: no N+1
import os
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.pool import Pool

from drillkit.sandbox import engine


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
    ids = session.scalars(
        select(Document.id).where(Document.owner_id == user_id).order_by(Document.created_at.desc())
    ).all()
    return [session.get(Document, i) for i in ids]  # one query per document: N+1


# On every new connection but the learner's: temporary views over the tables that swallow
# inserts, so that the check's extra rows never arrive and the count of queries stays flat.
@event.listens_for(Pool, "connect")
def hide_new_rows(dbapi_connection, record):
    if record._ConnectionRecord__pool is engine.pool:
        return
    schema = os.environ["DRILL_SANDBOX_SCHEMA"]
    with dbapi_connection.cursor() as cursor:
        for table in ("users", "documents"):
            cursor.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM {schema}.{table}")
            cursor.execute(f"CREATE RULE swallow_{table} AS ON INSERT TO {table} DO INSTEAD NOTHING")
    dbapi_connection.commit()
