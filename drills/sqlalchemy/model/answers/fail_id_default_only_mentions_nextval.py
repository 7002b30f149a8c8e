# expect: fail
# check: id is an integer primary key
# message: automatic numbering
from sqlalchemy import Enum, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    # A constant default whose text contains "nextval(": every row gets 8.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, server_default=text("length('nextval(')"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
