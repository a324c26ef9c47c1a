"""Classification markings as cables print them: "(C)", "(S/NF)", "(SBU)", "(U)".

A paragraph's label carries a marking; :mod:`cableqa.layout` reads them where a paragraph
starts ("3. (C) ...", "(C) The minister ...") and where a sentence inside it starts, and
labels the paragraph with the highest, so that a citation never shows text under a lower
marking than the cable gives it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARKING = re.compile(r"^(?:TS|S|C|U|SBU|LOU|FOUO|UNCLAS|CONFIDENTIAL|SECRET)\b(?:\s*[/ ,-]+\s*[A-Z]+)*$",
                      re.IGNORECASE)
# a marking that opens an unnumbered paragraph, "(C) The GoNZ ..." (checked against MARKING)
_LEAD_MARKING = re.compile(r"^\(\s*([A-Za-z][A-Za-z/ ,-]{0,28}?)\s*\)(?:\s+(?=\S)|\s*$)")
_LEVEL_WORD = r"(?:TS|S|C|U|SBU|LOU|FOUO)"  # how a marking inside a text starts
# a marking opening a sentence inside a paragraph's text, "... on Monday. (S) The minister ..."
_INNER_MARKING = re.compile(r"(?:^|(?<=[.:;\"')]\s)|(?<=[.:;\"')]\s\s))"
                            rf"\(\s*({_LEVEL_WORD}(?:\s*(?://?|,)\s*[A-Za-z]+(?:\s[A-Za-z]+){{0,3}})*)\s*\)"
                            r"\s+(?=[A-Z\"])", re.MULTILINE)
# a marking closing a paragraph, printed after its last sentence: "... than in the past.  (C)"
_TRAILING_MARKING = re.compile(rf"(?<=[.!?\"')])\s{{1,3}}\(\s*({_LEVEL_WORD}(?:\s*(?://?|,)\s*[A-Za-z]+)*)\s*\)\s*\Z")
_LEVELS = {"U": 0, "UNCLAS": 0, "UNCLASSIFIED": 0, "SBU": 1, "LOU": 1, "FOUO": 1,
           "C": 2, "CONFIDENTIAL": 2, "S": 3, "SECRET": 3, "TS": 4}


def inner_markings(text: str) -> list[str]:
    """Markings opening sentences inside ``text``, or closing it; "(C)" after "(A)" and "(B)" is a list
    letter, not one."""
    found = _INNER_MARKING.findall(text) + _TRAILING_MARKING.findall(text)
    return [m for m in found if len(m) > 1 or f"({chr(ord(m) - 1)})" not in text]


def marking_level(marking: str | None) -> int:
    """How high a printed marking classifies: U 0, SBU/LOU/FOUO 1, C 2, S 3, TS 4 ("S/NF" is S); -1 for none."""
    if not marking:
        return -1
    head = re.split(r"[/ ,-]", marking.strip().upper(), maxsplit=1)[0]
    return _LEVELS.get(head, -1)


def highest(markings: Iterable[str | None]) -> str | None:
    """The marking of the highest level among ``markings`` (the first of equals), so a label never understates."""
    best = None
    for m in markings:
        if m and marking_level(m) > marking_level(best):
            best = m
    return best


def lead_marking(lines: list[str]) -> tuple[str | None, list[str]]:
    """An unnumbered paragraph printed as "(C) The GoNZ ...": its marking, and its lines without it."""
    m = _LEAD_MARKING.match(lines[0]) if lines else None
    if m is None or not MARKING.match(m.group(1).strip()):
        return None, lines
    return m.group(1).strip(), [lines[0][m.end():], *lines[1:]]
