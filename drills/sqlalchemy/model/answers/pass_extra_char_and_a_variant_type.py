# expect: pass
from typing import Optional

from sqlalchemy import CHAR, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    # Extra columns: a CHAR without a length is char(1); a variant is another type on Postgres.
    grade: Mapped[Optional[str]] = mapped_column(CHAR)
    ref: Mapped[Optional[str]] = mapped_column(String(36).with_variant(postgresql.UUID(as_uuid=False), "postgresql"))
