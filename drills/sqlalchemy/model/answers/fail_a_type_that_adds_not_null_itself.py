# expect: fail
# check: mapped class
# message: not the table your model defines
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType


class Loose(UserDefinedType):
    """A type whose DDL says more than the model: NOT NULL on a column declared optional."""

    cache_ok = True

    def get_col_spec(self, **kw):
        return "VARCHAR(200) NOT NULL"


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(Loose())
    body: Mapped[str | None] = mapped_column(Loose())
