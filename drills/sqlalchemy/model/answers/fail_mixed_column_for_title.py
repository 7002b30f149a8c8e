# expect: fail
# check: 2.0 style
# message: mapped_column
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # old habit for the one column that needs a length
    title = sa.Column(sa.String(200), nullable=False)
    body: Mapped[str]
