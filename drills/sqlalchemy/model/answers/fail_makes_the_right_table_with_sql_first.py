# expect: fail
# check: title is text of at most 200
# message: limited to 200 characters
# A wrong model (title without a length, optional columns) behind a table the file made with SQL
# first: the checker builds the tables from the model, so the model is what is judged.
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from drillkit.sandbox import engine

# Wrong model: title has no length limit and is nullable; body nullable.
class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None]
    body: Mapped[str | None]


with engine.begin() as conn:
    conn.execute(text("CREATE TABLE documents (id serial PRIMARY KEY, "
                      "title varchar(200) NOT NULL, body text NOT NULL)"))
