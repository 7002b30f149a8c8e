"""A check's time limits, as plain numbers: the CLI's fast path reads them without the run machinery."""

DEFAULT_TIMEOUT = 10.0
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 300.0  # runs older than space.ORPHAN_AGE_SECONDS may be swept by others
