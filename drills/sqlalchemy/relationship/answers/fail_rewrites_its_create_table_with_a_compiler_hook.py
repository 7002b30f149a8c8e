# expect: fail
# check: mapped classes
# message: not the table your model defines
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


# --- your answer below ---------------------------------------------------------------


from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable


@compiles(CreateTable)
def _patched(element, compiler, **kw):
    # The DDL says what the drill wants; the model below does not.
    ddl = compiler.visit_create_table(element, **kw)
    if element.element.name == "users":
        return ddl.replace("email VARCHAR(40)", "email VARCHAR(255) NOT NULL UNIQUE")
    if element.element.name == "documents":
        return ddl.replace("owner_id INTEGER,", "owner_id INTEGER NOT NULL REFERENCES users (id),")
    return ddl


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(40))
    documents: Mapped[list["Document"]] = relationship(
        back_populates="owner", primaryjoin="User.id == foreign(Document.owner_id)"
    )


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    owner_id: Mapped[int | None]
    owner: Mapped["User"] = relationship(
        back_populates="documents", primaryjoin="User.id == foreign(Document.owner_id)"
    )
