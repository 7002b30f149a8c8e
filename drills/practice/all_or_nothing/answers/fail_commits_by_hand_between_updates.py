# expect: fail
# check: a move commits once
# message: committed 3 times
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


from sqlalchemy import update


def move_documents(session, doc_ids: list[int], new_owner_id: int) -> None:
    found = set(session.scalars(select(Document.id).where(Document.id.in_(doc_ids))))
    if found != set(doc_ids):
        session.rollback()
        raise LookupError(sorted(set(doc_ids) - found))
    for doc_id in doc_ids:
        session.execute(update(Document).where(Document.id == doc_id).values(owner_id=new_owner_id))
        if doc_id != doc_ids[-1]:
            session.connection().exec_driver_sql("/* by hand */ COMMIT;")  # behind the session's back
    session.commit()
