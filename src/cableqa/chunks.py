"""Paragraph chunks: the units that are embedded, keyword-indexed and cited.

One chunk per printed paragraph (:mod:`cableqa.layout`), keeping its number
and marking.  A paragraph longer than the embedding model's input window
(256 word pieces for all-MiniLM-L6-v2, counted with the model's own
tokenizer) is cut into overlapping windows at sentence boundaries; every
window keeps its paragraph's number, so a hit still cites ``¶12``.

A chunk's ``text`` is the cable's own words.  What a paragraph lacks on its
own (post, date, subject, tags, section heading) travels separately as
:func:`context`, which the embedding and keyword index see but users never
see as part of the excerpt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from . import layout
from .acronyms import glossary, spell_out
from .cables import Cable
from .keywords import STOPWORDS
from .text import sentence_spans

VERSION = "18"  # of layout + chunking (2: later page banners, U+2028 line breaks; 3: banners split across lines; 4: ¶1 right under a header field; 5: bodies without line breaks, backslash-escaped line breaks; 6: "001.2 OF 003" page banners; 7: a paragraph after the REF line is not header; 8: acronyms a cable defines are spelled out in the embedded text; 9: a paragraph under every printed number and marking, repeats told apart, markings never understated, windows exact slices, routing blocks and a paragraph glued to "Classified By:"; 10: no unmarked restart in a portion-marked cable, an unmarked paragraph there marked as the one above it; 11: a first paragraph glued to any header line, REF or SUBJECT too; 12: a rule wrapped into two runs of dashes is a rule; 13: "1. (C):" and "1. (C)." markings, a marking closing a paragraph; 14: "(C)(" and an unbracketed "CONFIDENTIAL - ENTIRE TEXT." paragraph; 15: "3. (Iran) Protests" is numbered, lost line breaks inside shorter lines continue the count, a rule glued before "1."; 16: "Classified By: ... (C)" on the REF line marks the paragraph below, "1.(SBU)" ending the SUBJECT line, "-------1.(U)"; 17: "3. (S/NF))", a bracket typed twice; 18: a header field line with another glued after it is split, "REF: ...  Classified By: ..."): a change re-chunks every cable (vectors of unchanged texts are kept)
MAX_TOKENS = 256  # all-MiniLM-L6-v2's input window, in word pieces
OVERLAP_TOKENS = 48
_WORD = re.compile(r"\S+")


def estimate_tokens(text: str) -> int:
    """Word pieces of ``text``, estimated (cable English averages ~1.3 a word); for tests and fakes."""
    return int(len(text.split()) * 1.35) + 1


@dataclass(frozen=True)
class Chunk:
    id: str  # stable: "05ALMATY4281#3" (3rd paragraph), "05ALMATY4281#12.2" (its 2nd window)
    cable_id: str
    ordinal: int  # paragraph position in the cable, from 1
    para: str | None  # printed paragraph number, None for an unnumbered block
    marking: str | None  # printed classification marking, e.g. "C", "S/NF"
    section: str | None  # heading printed above the paragraph
    window: int  # 0: the whole paragraph; 1, 2, ...: windows of a long one
    text: str


def windows(text: str, budget: int, count: Callable[[str], int] = estimate_tokens,
            overlap: int = OVERLAP_TOKENS) -> list[str]:
    """Cut ``text`` into windows of at most ``budget`` tokens, overlapping by whole sentences.

    Each window is a slice of ``text`` from one sentence's start to another's end, so it
    is the cable's words exactly; a single sentence longer than the budget is cut between words.
    """
    if count(text) <= budget:
        return [text]
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for a, b in sentence_spans(text):
        n = count(text[a:b])
        if n <= budget:
            units.append((a, b, n))
            continue
        words = [(m.start(), m.end()) for m in _WORD.finditer(text, a, b)]
        step = max(1, int(len(words) * budget / n * 0.9))  # words per piece, with margin
        for i in range(0, len(words), step):
            piece = words[i:i + step]
            units.append((piece[0][0], piece[-1][1], count(text[piece[0][0]:piece[-1][1]])))
    out: list[str] = []
    start = 0
    while start < len(units):
        end, size = start, 0
        while end < len(units) and (end == start or size + units[end][2] <= budget):
            size += units[end][2]
            end += 1
        out.append(text[units[start][0]:units[end - 1][1]])
        if end >= len(units):
            break
        back, kept = end, 0  # step back over trailing sentences worth at most `overlap` tokens
        while back - 1 > start and kept + units[back - 1][2] <= overlap:
            back -= 1
            kept += units[back][2]
        start = back
    return out


def chunk_cable(cable: Cable, budget: int = MAX_TOKENS - 2, count: Callable[[str], int] = estimate_tokens
                ) -> tuple[layout.Layout, list[Chunk]]:
    """The paragraphs of ``cable`` as chunks of at most ``budget`` tokens.

    The budget is the model's window less its two special tokens, or less
    where finer retrieval units measure better (a smaller ``--window``).  The
    context prefix is not counted: where paragraph plus context overflow the
    model's window, it drops the last few word pieces, which keyword search
    still covers.
    """
    parsed = layout.parse(cable.body)
    out = []
    for p in parsed.paragraphs:
        parts = windows(p.text, budget, count)
        for w, text in enumerate(parts, 1 if len(parts) > 1 else 0):
            ident = f"{cable.id}#{p.ordinal}" + (f".{w}" if w else "")
            out.append(Chunk(id=ident, cable_id=cable.id, ordinal=p.ordinal, para=p.number,
                             marking=p.marking, section=p.section, window=w, text=text))
    return parsed, out


def date_words(created: str) -> str:
    """"2005-12-02T09:08:00" -> "December 2, 2005" (words a question would use)."""
    try:
        d = datetime.fromisoformat(created)
    except ValueError:
        return ""
    return f"{d:%B} {d.day}, {d.year}"


def context(cable: Cable, section: str | None = None) -> str:
    """What a paragraph lacks on its own: subject, post, date, tags, section heading."""
    parts = [cable.subject.rstrip(".")] if cable.subject else []
    where_when = ", ".join(x for x in (cable.origin, date_words(cable.created)) if x)
    if where_when:
        parts.append(where_when)
    if section:
        parts.append(section.rstrip(":"))
    return ". ".join(parts)


def embedding_input(context: str, text: str, terms: dict[str, str] | None = None
                    ) -> tuple[str, tuple[tuple[int, int], ...]]:
    """What the model embeds for a paragraph: its cable context, a line break, its words, with
    the acronyms its cable defines (``terms``, from :func:`cable_terms`) spelled out; and where
    the paragraph's sentences lie in it (character spans, for :mod:`cableqa.sentences`)."""
    if terms:
        context, text = spell_out(context, terms), spell_out(text, terms)
    start = len(context) + 1 if context else 0
    spans = tuple((start + a, start + b) for a, b in sentence_spans(text))
    return (f"{context}\n{text}" if context else text), spans


def cable_terms(subject: str | None, texts: Iterable[str]) -> dict[str, str]:
    """The acronyms a cable defines in its subject or paragraphs (:mod:`cableqa.acronyms`)."""
    return glossary([subject or "", *texts], STOPWORDS)
