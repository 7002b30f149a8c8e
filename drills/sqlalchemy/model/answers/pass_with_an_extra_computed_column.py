# expect: pass
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
from sqlalchemy import Computed
class Base(DeclarativeBase):
    pass
class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    title_length: Mapped[int] = mapped_column(Computed("length(title)"))
