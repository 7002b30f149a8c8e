# expect: pass
from sqlalchemy import Sequence, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from drillkit.sandbox import engine


class Base(DeclarativeBase):
    pass


doc_seq = Sequence("doc id seq")  # a name that needs quoting


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(doc_seq, server_default=doc_seq.next_value(), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]


Base.metadata.create_all(engine)  # tried out here; the checker builds the tables again
