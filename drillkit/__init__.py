"""drillkit: type SQLAlchemy 2.0 yourself, check it against a real Postgres."""

__version__ = "0.2.0"


def version() -> str:
    """The installed distribution's version (what pip shows), else this source tree's."""
    from importlib import metadata

    try:
        return metadata.version("drillkit")
    except metadata.PackageNotFoundError:
        return __version__
