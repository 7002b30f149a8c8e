# expect: fail
# check: fresh Session
# message: not a Session
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db():
    db = SessionLocal
    try:
        yield db
    finally:
        db.close()
