"""Pack text as the learner sees it: task paragraphs unwrapped, and the starter file with its header."""

from __future__ import annotations

from pathlib import Path

from drillkit.errors import ConfigError
from drillkit.pack.model import Drill
from drillkit.store import Unreadable, read_text_file


def pack_file_text(drill: Drill, path: Path, what: str) -> str:
    """A file of the pack's, read; one that went missing since the pack was added (a folder
    pack is used where it is, and its author edits it) is a one-line error, not a traceback."""
    try:
        return read_text_file(path)
    except Unreadable as exc:
        raise ConfigError(
            f"the {what} of drill {drill.ref}, {path}, {exc}; "
            f"the pack changed after it was added (`drill validate {drill.folder.parent}` checks it)"
        ) from None


def logical_lines(text: str) -> list[str]:
    """Undo the YAML's hard wrapping: one string per paragraph or `- bullet`."""
    lines: list[str] = []
    bullet_indent = -1  # indent of the bullet being continued, -1 outside a bullet
    for raw in text.splitlines():
        line, indent = raw.strip(), len(raw) - len(raw.lstrip())
        if not line:
            lines.append("")
            bullet_indent = -1
        elif line.startswith("- "):
            lines.append(line)
            bullet_indent = indent
        elif lines and lines[-1] and (bullet_indent < 0 or indent > bullet_indent):
            lines[-1] += " " + line
        else:
            lines.append(line)
            bullet_indent = -1
    return lines


def starter_text(drill: Drill) -> str:
    """The starter as the learner gets it: the task as a comment, then the code."""
    import textwrap

    lines = [f"# Drill {drill.number} · {drill.title}  ({drill.section_title}, pack {drill.pack_id})", "#"]
    for line in logical_lines(drill.task):
        indent = "  " if line.startswith("- ") else ""
        wrapped = textwrap.wrap(line, 86, subsequent_indent=indent) or [""]
        lines += [f"# {part}".rstrip() for part in wrapped]
    lines += [
        "#",
        f"# Your file must leave behind: {drill.leaves_behind}.",
        f"# Check it:  drill check {drill.number}   (runs this file against a fresh Postgres schema)",
        f"# Stuck?     drill hint {drill.number}    (one hint at a time)",
        f"# Compare:   drill reveal {drill.number}  (once you have tried and run it)",
        "",
    ]
    return "\n".join(lines) + pack_file_text(drill, drill.starter_path, "starter")
