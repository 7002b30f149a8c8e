# expect: pass
import sqlalchemy as sa
import sqlalchemy.orm as so


class Base(so.DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: so.Mapped[int] = so.mapped_column(sa.Identity(), primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
