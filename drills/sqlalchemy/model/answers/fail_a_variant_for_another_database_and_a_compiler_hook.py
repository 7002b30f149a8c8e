# expect: fail
# check: mapped class
# message: not the table your model defines
from sqlalchemy import String, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


@compiles(String, "postgresql")
def _shorter(element, compiler, **kw):
    # Postgres is told VARCHAR(200) whatever the model says.
    return "VARCHAR(200)" if element.length else compiler.visit_string(element, **kw)


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 255 on Postgres (the variant is SQLite's only): the drill asks for 200.
    title: Mapped[str] = mapped_column(String(255).with_variant(Text(), "sqlite"))
    body: Mapped[str]
