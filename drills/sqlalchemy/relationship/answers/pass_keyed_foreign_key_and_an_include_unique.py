# expect: pass
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


# --- your answer below ---------------------------------------------------------------


from sqlalchemy import UniqueConstraint


class User(Base):
    __tablename__ = "users"
    # A unique email, its index also carrying the id (an index-only lookup of both).
    __table_args__ = (UniqueConstraint("email", postgresql_include=["id"]),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    documents: Mapped[list["Document"]] = relationship(back_populates="owner")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    # The column is owner_id in the table; owner_ref is its key in Python.
    owner_id: Mapped[int] = mapped_column("owner_id", ForeignKey("users.id", ondelete="CASCADE"), key="owner_ref")
    owner: Mapped["User"] = relationship(back_populates="documents")
