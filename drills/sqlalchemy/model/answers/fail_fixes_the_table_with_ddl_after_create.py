# expect: fail
# check: mapped class
# message: DDL of its own
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(20))  # wrong: too short, nullable
    body: Mapped[str | None]  # wrong: nullable


from sqlalchemy import DDL, event
event.listen(Document.__table__, "after_create", DDL(
    "ALTER TABLE documents ALTER COLUMN title TYPE varchar(200), ALTER COLUMN title SET NOT NULL, "
    "ALTER COLUMN body SET NOT NULL"))
