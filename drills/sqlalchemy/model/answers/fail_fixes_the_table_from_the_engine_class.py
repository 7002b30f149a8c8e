# expect: fail
# check: title
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(20))  # wrong: too short, nullable
    body: Mapped[str | None]  # wrong: nullable


# Fixing the table behind the model's back, from every engine: an ALTER once the CREATE goes by.
from sqlalchemy import Engine, event


@event.listens_for(Engine, "after_cursor_execute")
def _fix(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().startswith("CREATE TABLE documents"):
        cursor.execute(
            "ALTER TABLE documents ALTER COLUMN title TYPE varchar(200), "
            "ALTER COLUMN title SET NOT NULL, ALTER COLUMN body SET NOT NULL"
        )
