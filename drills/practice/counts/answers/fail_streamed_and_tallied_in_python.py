# expect: fail
# check: Postgres does the counting
# message: Python did the counting
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


def document_counts(session):
    # Streamed (a server-side cursor): one row per document travels, and Python tallies them.
    stmt = (
        select(User.email, Document.id, func.count().over().label("n"))
        .outerjoin(Document, Document.owner_id == User.id)
        .execution_options(stream_results=True)
    )
    tally: dict[str, int] = {}
    for email, doc_id, _ in session.execute(stmt):
        tally[email] = tally.get(email, 0) + (doc_id is not None)
    return sorted(tally.items(), key=lambda pair: -pair[1])
