"""Acronyms a cable defines, spelled out where its paragraphs use them.

A cable defines an acronym once, "Housing and Infrastructure Board (HIB)", and
then writes only "HIB".  The embedding model learned from web text and has
never seen "HIB", so a paragraph that says "the chairman of the HIB" is far
from a question about Libya's housing board.  The text the model embeds
spells such acronyms out (:func:`spell_out`); the excerpt shown and the
keyword index keep the cable's own words.

Only definitions in the same cable count: an acronym means different things
at different posts ("GOS" is Sudan's government in Khartoum, Spain's in
Madrid), and a chunk's embedded text then depends on its own cable alone, so
adding cables never changes the vectors of those already indexed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# words an expansion may skip when their initial is not in the acronym ("Ministry of Foreign Affairs" -> MFA)
_LINKING = frozenset("of the and for on in to de la del el des du a an &".split())
_DEFINED = re.compile(r"\(([A-Z][A-Za-z]{1,7})\)")  # "(HIB)", "(MoU)", "(BPCs)"
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|&")
_LOOKBACK = 200  # characters before "(" searched for the expansion


def definitions(text: str) -> list[tuple[str, str]]:
    """(acronym, expansion) for each "Words Spelled Out (WSO)" in ``text``.

    The expansion is the run of words just before the parenthesis whose initials spell the
    acronym's capitals, in order; linking words ("of", "the", "and") may sit between them.

    >>> definitions("a contract with Libya's Housing and Infrastructure Board (HIB) on roads")
    [('HIB', 'Housing and Infrastructure Board')]
    """
    found = []
    for m in _DEFINED.finditer(text):
        acronym = m[1]
        letters = [c for c in acronym if c.isupper()]
        if len(letters) < 2 or sum(c.islower() for c in acronym) > 2:
            continue
        words = _WORD.findall(text[max(0, m.start() - _LOOKBACK):m.start()])
        need, used = letters[::-1], []
        for word in reversed(words):
            if not need:
                break
            if word[0].upper() == need[0] and (word[0].isupper() or word.lower() in _LINKING):
                need.pop(0)
            elif not (used and word.lower() in _LINKING):
                break
            used.append(word)
        expansion = " ".join(reversed(used))
        if not need and expansion.upper() != acronym.upper():
            found.append((acronym, expansion))
    return found


def glossary(texts: Iterable[str], stopwords: frozenset[str] = frozenset()) -> dict[str, str]:
    """Acronym -> expansion, the first definition of each in ``texts`` (one cable's paragraphs).

    An acronym that is also a word (in ``stopwords``, or written in lower case in these texts,
    like "aim" or "team") is left out: in a cable typed in capitals it is mostly the word."""
    texts = list(texts)
    lower = {w for t in texts for w in re.findall(r"\b[a-z]{2,8}\b", t)}
    found: dict[str, str] = {}
    for text in texts:
        for acronym, expansion in definitions(text):
            if acronym.lower() not in stopwords and acronym.lower() not in lower:
                found.setdefault(acronym, expansion)
    return found


def spell_out(text: str, terms: dict[str, str]) -> str:
    """``text`` with each acronym of ``terms`` replaced by its expansion, but not where it is
    being defined ("(HIB)") or is part of a longer token ("HIB-owned")."""
    if not terms:
        return text
    pattern = re.compile(r"(?<![\w\-'’(])(" + "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
                         + r")(?![\w\-'’])")
    return pattern.sub(lambda m: terms[m[1]], text)
