"""Counts written as words, for everything a person reads (reports, failures, listings)."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 statement`, `3 statements` (`many` for irregular plurals), never a bracketed s."""
    return f"{count} {word if count == 1 else many or word + 's'}"
