# expect: pass
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db() -> Generator[Session]:
    with SessionLocal() as db:
        yield db
