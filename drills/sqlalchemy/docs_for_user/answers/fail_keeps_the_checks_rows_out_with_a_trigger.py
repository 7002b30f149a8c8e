# expect: fail
# message: trigger
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from drillkit.sandbox import engine


# --- given: these models match the tables already in the drill database -------------
class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    documents: Mapped[list["Document"]] = relationship(back_populates="owner")


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped["User"] = relationship(back_populates="documents")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- your answer below ---------------------------------------------------------------
def docs_for_user(session, user_id: int) -> list[Document]:
    # "The newest four": right for the seeded data, wrong once a user has a fifth document.
    stmt = select(Document).where(Document.owner_id == user_id).order_by(Document.created_at.desc()).limit(4)
    return list(session.scalars(stmt).all())


# A trigger on a function in pg_temp that drops every new document of user 1: the N+1
# check's extra rows would never land. (Which of two checks fails first depends on how fast
# the server drops the session's temporary objects once the run ends: the N+1 check, or the
# scan of the schema after the run, if the trigger is still there. Either names the trigger.)
_kept_open = engine.connect()
_kept_open.exec_driver_sql(
    "CREATE FUNCTION pg_temp.drop_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$"
)
_kept_open.exec_driver_sql(
    "CREATE TRIGGER only_four BEFORE INSERT ON documents FOR EACH ROW "
    "WHEN (NEW.owner_id = 1) EXECUTE FUNCTION pg_temp.drop_row()"
)
_kept_open.commit()
