# expect: fail
# check: mapped class
# message: Postgres refused to create your tables
from sqlalchemy import CheckConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"
    # SQL text pasted into the CREATE TABLE: it closes the constraint and adds statements that
    # turn the wrong columns below into the right ones.
    __table_args__ = (
        CheckConstraint(
            "true)); ALTER TABLE documents ALTER COLUMN title TYPE varchar(200), "
            "ALTER COLUMN title SET NOT NULL, ALTER COLUMN body SET NOT NULL; SELECT ((1"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None]
    body: Mapped[str | None]
