# expect: fail
# check: body is a required text column
# message: not a text column
from sqlalchemy import Enum, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Enum("Saved by the checker.", name="textual"))  # an enum named text...
