from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
def get_db(): ...
