"""The `--json` shapes of `list`, `progress` and `selfcheck`: a stable, documented contract.

Kept apart from the CLI so the Typer-free fast path of `drill list` prints the same thing.
"""

from __future__ import annotations

from typing import Any

from drillkit.commands.listing import Listing, SkillRow


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
