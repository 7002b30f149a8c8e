# expect: fail
# check: a missing new owner
# message: not Postgres's error
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
from sqlalchemy.exc import IntegrityError


def move_documents(session, doc_ids, new_owner_id):
    try:
        for doc_id in doc_ids:
            doc = session.get(Document, doc_id)
            if doc is None:
                raise LookupError(f"no document {doc_id}")
            doc.owner_id = new_owner_id
        session.commit()
    except IntegrityError:
        session.rollback()
        raise LookupError(f"no user {new_owner_id}")  # the caller can no longer tell the two apart
    except Exception:
        session.rollback()
        raise
