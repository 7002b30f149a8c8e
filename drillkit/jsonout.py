"""The `--json` shapes of `list`, `progress` and `selfcheck`: a stable, documented contract.

Kept apart from the CLI so the Typer-free fast path of `drill list` prints the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drillkit.commands.listing import Listing, SkillRow

if TYPE_CHECKING:  # `drill list --json` never builds the picture
    from drillkit.commands.activity import Activity


def listing(result: Listing) -> dict[str, Any]:
    rows = [
        {
            "number": r.drill.number,
            "slug": r.drill.slug,
            "section": r.drill.section,
            "title": r.drill.title,
            "status": r.status,
            "attempts": r.attempts,
            "last_attempt": r.last_attempt,
            "file": str(r.file) if r.file else None,
            "review": {"due": r.review.due, "is_due": r.review_due, "rounds": r.review.rounds},
        }
        for r in result.rows
    ]
    nxt = result.next_drill
    pack = result.pack
    return {
        "pack": {"id": pack.id, "title": pack.title, "version": pack.version},
        "other_packs": result.other_packs,
        "drills": rows,
        "passed": result.passed,
        "total": len(rows),
        "next": nxt.number if nxt else None,
        "reviews_due": [r.drill.number for r in result.reviews_due],
        "cards_due": result.cards_due,
        "cards_total": result.cards_total,
        "selfcheck": skills(result.skills),
    }


def progress(result: Listing, act: Activity) -> dict[str, Any]:
    """`drill progress --json`: the listing, plus the numbers behind its picture."""
    return {
        **listing(result),
        "activity": [{"date": d.day.isoformat(), "checks": d.checks} for d in act.checks],
        "upcoming": [
            {"date": d.day.isoformat(), "reviews": d.reviews, "cards": d.cards} for d in act.upcoming
        ],
    }


def skills(rows: list[SkillRow]) -> list[dict[str, Any]]:
    return [
        {
            "number": r.number,
            "id": r.skill.id,
            "text": r.skill.text,
            "drills": list(r.skill.drills),
            "ticked": r.ticked,
            "earned": r.earned,
            "why_not": r.why_not,
        }
        for r in rows
    ]
