# expect: pass
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)  # integer PK: Postgres numbers it
    title: Mapped[str] = mapped_column(String(200))  # Mapped[str] alone means NOT NULL
    body: Mapped[str]  # no mapped_column() needed when the annotation says it all


# Tried out with the drill's session and never closed: its last SELECT keeps a transaction
# (and a lock on documents) open after the file ends. Harmless here, so it must pass.
from sqlalchemy import select  # noqa: E402

from drillkit.sandbox import engine, session  # noqa: E402

Base.metadata.create_all(engine)
session.add(Document(title="hello", body="world"))
session.commit()
print(session.scalars(select(Document)).all())
