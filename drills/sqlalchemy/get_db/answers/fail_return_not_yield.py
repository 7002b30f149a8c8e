# expect: fail
# check: generator function
# message: plain function that returns
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db() -> Session:
    db = SessionLocal()
    try:
        return db
    finally:
        db.close()
