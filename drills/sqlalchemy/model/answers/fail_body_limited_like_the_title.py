# expect: fail
# check: body is a required text column
# message: limited to a length
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)  # integer PK: Postgres numbers it
    title: Mapped[str] = mapped_column(String(200))  # Mapped[str] alone means NOT NULL
    body: Mapped[str] = mapped_column(String(200))  # the title's line, copied
