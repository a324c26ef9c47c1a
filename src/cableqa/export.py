"""The conversation's cited excerpts as Markdown and CSV, each with its full citation.

Cable text is data here too: in Markdown it is escaped so a viewer shows
it as written (no emphasis, links or HTML from a cable); in CSV a cell that
a spreadsheet would run as a formula is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .render import Answer
from .search import Hit

COLUMNS = ["turn", "question", "filters", "rank", "citation", "cable_id", "para", "marking", "origin", "date",
           "classification", "subject", "score", "answer_sentence", "text", "same_words_also_in"]
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~$])")  # emphasis, code, links/images, headings, tables, math
_FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?![\s-]))")


@dataclass(frozen=True)
class Turn:
    """One question of the conversation and what it was answered with."""

    question: str
    filters: str  # the filters applied, described ("" for none)
    answer: Answer | None
    hits: tuple[Hit, ...]


def md_text(text: str) -> str:
    """``text`` for a Markdown document: shown as written, never as markup or a link."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return escaped.replace("://", ":\\/\\/").replace("www.", "www\\.")


def to_markdown(turns: Sequence[Turn]) -> str:
    out = ["# cableqa: cited excerpts", ""]
    for n, turn in enumerate(turns, 1):
        out += [f"## {n}. {md_text(turn.question)}", ""]
        if turn.filters:
            out += [f"Filters: {md_text(turn.filters)}", ""]
        if turn.answer is not None:
            out += [f"**Answer** (verbatim, {md_text(turn.answer.hit.citation)}): "
                    f"“{md_text(turn.answer.sentence)}”", ""]
        if not turn.hits:
            out += ["No paragraph matched.", ""]
        for rank, hit in enumerate(turn.hits, 1):
            out += [f"{rank}. **{md_text(hit.citation_line())}**", ""]
            out += ["   > " + md_text(line) if line.strip() else "   >" for line in hit.text.splitlines()]
            out.append("")
    return "\n".join(out)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if _FORMULA.match(text) else text


def to_csv(turns: Sequence[Turn]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for n, turn in enumerate(turns, 1):
        for rank, hit in enumerate(turn.hits, 1):
            is_answer = turn.answer is not None and turn.answer.hit == hit
            writer.writerow([_cell(v) for v in (
                n, turn.question, turn.filters, rank, hit.citation, hit.cable_id, hit.para or f"[{hit.ordinal}]",
                hit.marking, hit.origin, hit.created[:10], hit.classification, hit.subject, f"{hit.score:.4f}",
                turn.answer.sentence if is_answer else "", hit.text, "; ".join(c for _, _, c in hit.also))])
    return buf.getvalue()


def write(turns: Sequence[Turn], folder: Path, stem: str = "cableqa-excerpts") -> tuple[Path, Path]:
    """Write ``stem``.md and ``stem``.csv into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    md, csv_path = folder / f"{stem}.md", folder / f"{stem}.csv"
    md.write_text(to_markdown(turns), encoding="utf-8")
    csv_path.write_text(to_csv(turns), encoding="utf-8-sig", newline="")  # the BOM tells Excel it is UTF-8
    return md, csv_path
