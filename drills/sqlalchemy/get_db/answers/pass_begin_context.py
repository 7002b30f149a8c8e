# expect: pass
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db() -> Generator[Session]:
    # one transaction per request: commit on success, rollback on error, then close
    with SessionLocal.begin() as db:
        yield db
