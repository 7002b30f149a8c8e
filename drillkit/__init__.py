"""drillkit: type SQLAlchemy 2.0 yourself, check it against a real Postgres."""

__version__ = "0.2.0"
