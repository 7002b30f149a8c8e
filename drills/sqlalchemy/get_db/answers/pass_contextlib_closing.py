# expect: pass
from drillkit.sandbox import SessionLocal

from contextlib import closing


def get_db():
    with closing(SessionLocal()) as db:
        yield db
