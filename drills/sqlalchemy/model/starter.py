from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


# --- your answer below ---------------------------------------------------------------
# 1. a Base class
# 2. a Document model for the table "documents": id, title (max 200), body
