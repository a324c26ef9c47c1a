"""Printed paragraph numbers: what counts as "3. (C)" at a line start, and how repeats are told apart.

:mod:`cableqa.layout` decides where paragraphs start with these; a number printed
again gets primes ("3'") so that no two paragraphs of a cable share a citation.
"""

from __future__ import annotations

import re

from .markings import MARKING

# "1. (C) ...", "12.  (S/NF) ...", "3.(U)", "4. Unmarked text", "2) (C) ...", "1  (U) ..." (no stop),
# "1. (U)Summary", "1. (C)SUMMARY" (no space), "1. (C): Begin summary", "1. (C/NF).   Summary", "18. (C)(All Bios)",
# "3. (S/NF))  The EAC" (a bracket typed twice).
_NUMBERED = re.compile(
    r"^\s*(\d{1,3})(?:\.|\)(?=\s*\()|\s+(?=\([A-Za-z]))\s*(?:\(\s*([A-Za-z][A-Za-z/ ,-]{0,28}?)\s*\)\)?(?:[.:](?=\s))?(?=\s|$|[A-Z\"(]))?\s*"
)
_MARK_FIRST = re.compile(r"^\s*\(\s*([A-Za-z][A-Za-z/ ,-]{0,28}?)\s*\)\s*(\d{1,3})\.\s+(?=\S)")
SENTENCE_END = re.compile(r"[.!?:;\"')\]]$")  # a line that ends a sentence (a paragraph may start below it)

MAX_GAP = 6  # a printed number may skip this many (redacted paragraphs) and still count


def numbered(line: str) -> tuple[int, str | None, str] | None:
    """(number, marking or None, the rest of the line) where ``line`` starts a printed paragraph, else None."""
    first = _MARK_FIRST.match(line)  # "(SBU) 1. The coalition ...": the marking printed before the number
    if first and MARKING.match(first.group(1)):
        return int(first.group(2)), first.group(1), line[first.end():]
    m = _NUMBERED.match(line)
    if not m:
        return None
    marking = m.group(2)
    if marking is not None and not MARKING.match(marking.strip()):
        # "3. (Iran) New protests": a bracketed word, not a marking, after an unmarked number
        plain = re.match(r"\s*(\d{1,3})\.\s*", line)
        return (int(plain.group(1)), None, line[plain.end():]) if plain else None
    if marking is None and not line.lstrip()[len(m.group(1)):].startswith((".", ")")):
        return None  # a number without a stop counts only before a marking
    rest = line[m.end():]
    if not rest and marking is None:
        return None
    return int(m.group(1)), (marking.strip() if marking else None), rest


def split_on_numbers(block: list[str], last: int) -> list[list[str]]:
    """A paragraph start inside a block (no blank line before it) starts a new block: any marked
    "N. (C)" line, or an unmarked "N." that continues the count after a line that ends a sentence."""
    parts = [[block[0]]]
    first = numbered(block[0])
    expected = (first[0] if first else last) + 1
    for prev, line in zip(block, block[1:]):
        found = numbered(line)
        if found and (found[1] is not None or found[0] == expected and (
                SENTENCE_END.search(prev) or not re.search(r"\w", prev))):  # after a sentence or a stray "-"
            parts.append([line])
            expected = found[0] + 1
        else:
            parts[-1].append(line)
    return parts


def unique_numbers(paragraphs: list[dict]) -> None:
    """A number printed again (a repeat, or numbering restarting in a new section) is told apart by
    its earlier uses: "3'", "3''", then "3'3", so that no two paragraphs share a citation."""
    seen: dict[str, int] = {}
    for p in paragraphs:
        if p["number"] is not None:
            n = p["number"]
            k = seen.get(n, 0)
            p["number"] = n + ("'" * k if k <= 2 else f"'{k}")
            seen[n] = k + 1
