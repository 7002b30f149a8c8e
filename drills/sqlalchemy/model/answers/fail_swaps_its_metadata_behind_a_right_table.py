# expect: fail
# check: title is text of at most 200
# message: limited to 200 characters
# A wrong model whose class points `metadata` at an empty MetaData, behind a right table made
# with SQL: the checker builds from the table's own MetaData, so the model is still judged.
from sqlalchemy import text, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from drillkit.sandbox import engine

class Base(DeclarativeBase):
    pass

# Wrong model: title has no length limit and is nullable; body nullable.
class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None]
    body: Mapped[str | None]

Document.metadata = MetaData()   # what the checker builds from: nothing

with engine.begin() as conn:
    conn.execute(text("CREATE TABLE documents (id serial PRIMARY KEY, "
                      "title varchar(200) NOT NULL, body text NOT NULL)"))
