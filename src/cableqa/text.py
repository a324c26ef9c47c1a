"""What a word, a stem, a sentence, a cable id and a citation are: each defined once, here.

* a **word** is a run of ASCII letters and digits in lower-cased text
  (:func:`words`): what keyword search indexes, what "the same words" and
  exact phrases compare, and (with every other run of characters one space,
  :func:`normalise`) what the evaluation matches evidence with;
* a **stem** is the Snowball stem of a word (:func:`stem_words`, BM25's terms),
  or, for telling names apart across inflections ("Slovakia's", "Slovak"),
  the first five letters of a word of three letters or more (:func:`stems`);
* a **sentence** ends after ., ! or ? (and closing quotes or brackets) before a
  capital or digit: :func:`sentence_spans` cuts long paragraphs into windows;
  :func:`prose_sentences` picks an answer sentence and also skips "Mr." and
  "U.S." (the chunker keeps the plainer rule: changing it re-chunks every index);
* a **cable id** is two digits of the year, the post, the number
  ("05ALMATY4281"): :data:`CABLE_ID`;
* a **citation** is the cable id and the paragraph's label: "05ALMATY4281 ¶3 (C)".
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[a-z0-9]+")  # in lower-cased text
WORD_ANY_CASE = re.compile(r"[A-Za-z0-9]+")  # the same, found where it stands in the original text
_NON_WORD = re.compile(r"[^a-z0-9]+")
LONG_WORDS = re.compile(r"[A-Za-z]{3,}")  # words that can be names (stems, names_in)
CAPITALISED = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z]{2,}")  # those of them that start with a capital

# a sentence ends after ., ! or ? and any closing quotes or brackets, before a capital or digit
_SENTENCE_GAP = re.compile(r"(?<=[.!?])[\"')\]]*(\s+)(?=[\"'(\[]?[A-Z0-9])")
_SENTENCE_END = re.compile(r"[.!?][\"')\]”’]*(?=\s+[\"'(\[“‘A-Z0-9])")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Gen|Amb|Col|Lt|Sen|Rep|Gov|Pres|No|St|Jr|Sr|Prof|Adm|Capt|Maj|Sgt|"
                     r"Ft|Mt|vs|etc|approx|Jan|Feb|Mar|Apr|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z]|\b(?:[A-Z]\.)+[A-Z])\.$")

CABLE_ID = r"\d{2}[A-Za-z]{3,}\d{1,7}"  # "05ALMATY4281"; as a question may write it, any case
_CABLE_PARTS = re.compile(r"(\d\d)(\D+)(\d+)")

_stemmer = None


def words(text: str) -> list[str]:
    """Every word of ``text``, lower-cased, in order; punctuation and spacing dropped."""
    return WORD.findall(text.lower())


def normalise(text: str) -> str:
    """``text`` lower-cased, each run of other characters than letters and digits one space."""
    return _NON_WORD.sub(" ", text.lower())


def fold(text: str) -> str:
    """The words of ``text`` with accents off, one space apart: "São Paulo" ~ "sao paulo"."""
    return " ".join(words(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()))


def stem_words(found: list[str]) -> list[str]:
    """The Snowball (English) stem of each of ``found``."""
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer("english")
    return _stemmer.stemWords(found)


def stems(text: str, pattern: re.Pattern = LONG_WORDS) -> frozenset[str]:
    """The first five letters, lower case, of each word of ``text``: "Slovakia's", "Slovak" -> "slova"."""
    return frozenset(w.lower()[:5] for w in pattern.findall(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of ``text``'s sentences; closing quotes and brackets stay with their sentence."""
    spans, start = [], 0
    for m in _SENTENCE_GAP.finditer(text):
        spans.append((start, m.start(1)))
        start = m.end(1)
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def sentences(text: str) -> list[str]:
    """``text`` split after ., ! or ? (and closing quotes or brackets) before a capital or digit."""
    return [text[a:b] for a, b in sentence_spans(text)]


def prose_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, verbatim and stripped (not split after "Mr." or "U.S.")."""
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        piece = text[start:m.end()]
        if _ABBREV.search(piece.rstrip("\"')]”’")):
            continue
        parts.append(piece)
        start = m.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def post_of(cable_id: str) -> str | None:
    """The post part of a cable id ("05ALMATY4281" -> "ALMATY"); None unless it starts with a year."""
    return re.sub(r"\d+$", "", cable_id[2:]) if cable_id[:2].isdigit() else None


def cable_parts(cable_id: str) -> tuple[str, int, int]:
    """"04PRETORIA5407" -> ("PRETORIA", 2004, 5407); (the id, 0, 0) for an id of another shape."""
    m = _CABLE_PARTS.fullmatch(cable_id)
    if not m:
        return cable_id, 0, 0
    year = int(m[1])
    return m[2], year + (1900 if year > 50 else 2000), int(m[3])


def citation(cable_id: str, para: str | None, ordinal: int, marking: str | None) -> str:
    """"05ALMATY4281 ¶3 (C)"; an unnumbered block cites its position: "¶[2]"."""
    label = f"¶{para}" if para else f"¶[{ordinal}]"
    return f"{cable_id} {label}" + (f" ({marking})" if marking else "")
