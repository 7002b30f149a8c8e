# expect: fail
# check: 2.0 style
# message: without a Mapped[...] annotation
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id = mapped_column(Integer, primary_key=True)
    title = mapped_column(String(200), nullable=False)
    body = mapped_column(Text, nullable=False)
