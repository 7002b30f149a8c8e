"""The public API a pack's `checks.py` is written against.

    from drillkit.check import Checks, Context, Fail, Mismatch

    checks = Checks()

    @checks.add("`books` is a list of Book objects")
    def is_list(ctx: Context) -> None:
        ...

    @checks.database("the new book is committed", requires=[is_list])
    def committed(db: DatabaseView) -> None:
        if not db.rows("SELECT 1 FROM books WHERE title = :t", t="Dune"):
            raise Fail("no committed row titled Dune", expected="one row", actual="none")

See docs/writing-a-pack.md. Helpers: `drillkit.check.models` (mapped classes, the 2.0-style
rule), `drillkit.check.schema` (reflection in the child), `drillkit.check.sql` (the SQL sent),
`drillkit.check.nplus1` (does the statement count grow with the data?).
"""

from drillkit.check.database import Column, DatabaseView, ForeignKey
from drillkit.check.framework import (
    Check,
    Checks,
    Context,
    Fail,
    Mismatch,
    held_lock,
    show_sql,
    waited_on_a_lock,
    watching,
    without_background,
)
from drillkit.words import plural

__all__ = [
    "Check",
    "Checks",
    "Column",
    "Context",
    "DatabaseView",
    "Fail",
    "ForeignKey",
    "Mismatch",
    "held_lock",
    "plural",
    "show_sql",
    "waited_on_a_lock",
    "watching",
    "without_background",
]
