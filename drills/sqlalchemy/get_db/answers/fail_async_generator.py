# expect: fail
# check: generator function
# message: async
from drillkit.sandbox import SessionLocal


async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
