# expect: fail
# check: nothing else changed
# message: more than 1000 rows were added
# passes: renamed
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
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
doc = session.scalars(select(Document).where(Document.id == 5)).one()
doc.title = "Final"  # the session marks the object dirty
session.commit()  # the flush writes UPDATE documents SET title=... WHERE id = 5

# "Some test users while I am at it": thousands of rows the task never asked for. The check
# says so without reading them all.
from sqlalchemy import text  # noqa: E402

session.execute(text("INSERT INTO users (id, email) SELECT g, 'test' || g FROM generate_series(100, 5000) g"))
session.commit()
