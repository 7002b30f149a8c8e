# expect: fail
# check: fresh Session
# message: same Session every time
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import session


def get_db() -> Generator[Session]:
    try:
        yield session
    finally:
        session.close()
