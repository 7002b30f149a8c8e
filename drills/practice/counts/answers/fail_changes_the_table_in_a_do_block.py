# expect: fail
# check: is a function
# message: only reads
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
def document_counts(session) -> list[tuple[str, int]]:
    n_docs = func.count(Document.id)  # counts non-NULL ids: 0 for a user with no documents
    stmt = (
        select(User.email, n_docs)
        .outerjoin(Document, Document.owner_id == User.id)
        .group_by(User.id)
        .order_by(n_docs.desc())
    )
    return [(email, n) for email, n in session.execute(stmt)]


# A write hidden from a look at the SQL's words: an anonymous code block that EXECUTEs a string.
from sqlalchemy import text as _text

from drillkit.sandbox import session as _s

_s.execute(_text("DO $$ BEGIN EXECUTE 'DEL' || 'ETE FROM documents WHERE id = 1'; END $$"))
_s.commit()
