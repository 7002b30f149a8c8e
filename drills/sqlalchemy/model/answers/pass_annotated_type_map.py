# expect: pass
from __future__ import annotations

from typing import Annotated

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

str200 = Annotated[str, 200]
intpk = Annotated[int, mapped_column(BigInteger, primary_key=True)]


class Base(DeclarativeBase):
    type_annotation_map = {str200: String(200)}


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[intpk]
    title: Mapped[str200]
    body: Mapped[str]

    def __repr__(self) -> str:
        return f"Document(id={self.id!r}, title={self.title!r})"
