# expect: fail
# check: mapped class
# message: not the table your model defines
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import CreateTable


@compiles(CreateTable)
def _right_table(element, compiler, **kw):
    # Whatever the model says, the table Postgres gets is the one the drill wants.
    if element.element.name == "documents":
        return "CREATE TABLE documents (id SERIAL PRIMARY KEY, title VARCHAR(200) NOT NULL, body TEXT NOT NULL)"
    return compiler.visit_create_table(element, **kw)


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None]
    body: Mapped[str | None]
