# expect: fail
# check: dirty tracking
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from drillkit.sandbox import session, SessionLocal, engine


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
from sqlalchemy import text
doc = session.get(Document, 5)
doc.title = "Final"
session.flush()                 # flushed UPDATE carrying Final
with engine.connect() as c:     # another connection commits: the recorder's "first end after"
    c.execute(text("SELECT 1"))
    c.commit()
session.rollback()              # the flush is undone
raw = engine.raw_connection()
cur = raw.cursor()
cur.execute("UPDATE documents SET title = 'Final' WHERE id = 5")
raw.commit()
raw.close()
