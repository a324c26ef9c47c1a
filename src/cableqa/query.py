"""What a question asks, read once: the one home of the English patterns search and ranking use.

:meth:`Query.parse` turns a question into a frozen :class:`Query`:

* filters it states ("cables from Cairo in 2008", "secret cables", "tagged PTER");
* cables it names ("05ALMATY4281", "ALMATY 4281": the year resolved against the index);
* "quoted phrases" a paragraph must hold word for word;
* the time it is about ("in late August 2004": a soft prior, not a filter);
* countries it names ("Slovakia's", "Swedish": :func:`cableqa.countries.named_in`);
* names (capitalised words after the first) and whether it points back at the chat ("he", "such");
* whether it is a who-question, and its asking clause after a lead that sets the scene.

:meth:`Query.describe` says in one line what was understood, for the user and for debugging.
Nothing here reads the index; :mod:`cableqa.signals` scores paragraphs with what is here.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import countries
from .filters import CLASSIFICATIONS, Filters, date_bound
from .text import CABLE_ID, CAPITALISED, LONG_WORDS, stems

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}

# -- filters the question states -------------------------------------------------------------
_DOC = r"(?:cables?|telegrams?|messages?)"
_PLACE = r"([A-Z][\w'.-]*(?:[ -](?:[A-Z][\w'.-]*|de|da|do|del|es|of))*)"
_ORIGIN = re.compile(rf"\b{_DOC}\s+(?:sent\s+)?(?:from|by|out of)\s+(?:the\s+)?"
                     rf"(?:(?:US|U\.S\.)\s+)?(?:(?:embassy|consulate|mission|office|post)\s+(?:in\s+|at\s+)?)?{_PLACE}")
_ORIGIN_FIELD = re.compile(r"\borigin:\s*(\"[^\"]+\"|\S+)", re.IGNORECASE)
_YEAR = r"(1[89]\d\d|20\d\d)"
_DOC_DATE = re.compile(
    rf"\b{_DOC}\s+(?:sent\s+)?(?:(?:from|by)\s+(?:the\s+)?[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*){{0,3}}\s+)?"
    rf"(?:(?:in|from|during|of|dated)\s+(?:(\w+)\s+)?{_YEAR}"
    rf"|between\s+{_YEAR}\s+and\s+{_YEAR}|(since|after|before|until)\s+{_YEAR})\b", re.IGNORECASE)
_DATE_LEAD = re.compile(rf"\b{_YEAR}\s+{_DOC}\b", re.IGNORECASE)
_TAGGED = re.compile(r"\b(?:tagged|tags?:?|with the tag)\s+((?:[A-Z]{2,6}\d{0,2}(?:\s*(?:,|and|or)\s*|\s+))*"
                     r"[A-Z]{2,6}\d{0,2})\b")
_CLASSIFIED = re.compile(rf"\b(secret|confidential|unclassified|noforn|sbu)\s+{_DOC}\b", re.IGNORECASE)

# -- cables it names, phrases it quotes --------------------------------------------------------
_CABLE_ID = re.compile(rf"\b({CABLE_ID})\b", re.IGNORECASE)
_POST_NUMBER = re.compile(r"\b([A-Za-z]{3,}(?: [A-Za-z]{3,}){0,3}) 0*(\d{2,7})\b")
_A_YEAR = re.compile(r"19[4-9]\d|20[01]\d")
_PHRASE = re.compile(r"\"([^\"]{3,})\"|“([^”]{3,})”")

# -- the time it is about --------------------------------------------------------------------
_SEASON = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 2)}
_PART = {"early": (1, 4), "mid": (5, 8), "middle": (5, 8), "late": (9, 12)}
_PERIOD = re.compile(r"\b(?:(early|mid|middle|late)[- ]+)?(?:(" + "|".join(_MONTHS) + "|" + "|".join(_SEASON)
                     + r")\s+(?:of\s+)?)?(?:\d{1,2},?\s+)?(19[4-9]\d|20[0-2]\d)\b", re.IGNORECASE)
REPORT_DAYS = 90  # cables report events days or weeks after: the period runs on this long

# -- who, names, the chat, the asking clause -------------------------------------------------
_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
# words that point back at the conversation ("And how did he ...", "such zones")
_BACK = re.compile(r"^\W*(?:and|but|also|so)\b|\b(?:he|she|him|his|her|hers|they|them|their|theirs|it|its|this|"
                   r"that|these|those|such|same|other|new)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<=\s)[A-Z][A-Za-z'-]{2,}")
# a lead up to the first comma that a question or auxiliary word follows, then the asking clause
_QUESTION = "what|why|how|who|whom|whose|which|where"  # not "when": it also opens a lead ("When X said Y, did ...?")
_LEAD_ASK = re.compile(rf"^([^,]+(?:,[^,]+)*?),\s+((?:{_QUESTION}|when|did|does|do|is|are|was|were|has|have|had|can|"
                       r"could|would|should)\b.+)$", re.IGNORECASE)
_ASKS = re.compile(rf"^\W*(?:{_QUESTION})\b", re.IGNORECASE)
_TIME_WORDS = re.compile(r"\b(?:in|on|at|during|by|since|early|mid|late|the|of|and|spring|summer|autumn|fall|"
                         r"winter|\d+(?:st|nd|rd|th)?|" + "|".join(m for m in calendar.month_name if m) + r")\b",
                         re.IGNORECASE)


def stated_filters(question: str) -> Filters:
    """Filters ``question`` states explicitly: origin, dates of the cables, tags, classification."""
    origin = None
    m = _ORIGIN.search(question) or _ORIGIN_FIELD.search(question)
    if m:
        origin = m.group(1).strip('"').rstrip(".,;:?") or None
        origin = re.sub(r"\s+(?:in|on|during|about|since|after|before|between)$", "", origin)
    date_from = date_to = None
    m = _DOC_DATE.search(question)
    if m:
        month, year, y1, y2, rel, ry = m.groups()
        if year:
            mo = _MONTHS.get((month or "").lower())
            date_from = date_bound(f"{year}-{mo}" if mo else year, end=False)
            date_to = date_bound(f"{year}-{mo}" if mo else year, end=True)
        elif y1:
            date_from, date_to = date_bound(min(y1, y2), False), date_bound(max(y1, y2), True)
        elif rel:
            if rel.lower() in ("since", "after"):
                date_from = date_bound(ry, False) if rel.lower() == "since" else date_bound(str(int(ry) + 1), False)
            else:
                date_to = date_bound(ry, True) if rel.lower() == "until" else date_bound(str(int(ry) - 1), True)
    else:
        m = _DATE_LEAD.search(question)
        if m:
            date_from, date_to = date_bound(m.group(1), False), date_bound(m.group(1), True)
    tags: tuple[str, ...] = ()
    m = _TAGGED.search(question)
    if m:
        tags = tuple(t for t in re.split(r"[\s,]+", m.group(1)) if t and t not in ("and", "or"))
    classification = None
    m = _CLASSIFIED.search(question)
    if m:
        classification = CLASSIFICATIONS[m.group(1).lower()]
    return Filters(origin=origin, date_from=date_from, date_to=date_to, classification=classification, tags=tags)


def named_cables(question: str, known_posts: set[str] | None = None) -> tuple[str, ...]:
    """Cable ids ``question`` names: "05ALMATY4281", and with ``known_posts`` "ALMATY 4281" as
    "*ALMATY4281" (its year is resolved against the index)."""
    ids = list(dict.fromkeys(i.upper() for i in _CABLE_ID.findall(question)))
    for words, number in _POST_NUMBER.findall(question):
        if known_posts is None or _A_YEAR.fullmatch(number):
            continue  # "Almaty 2005" is a place and a year, not a cable
        words = words.upper().split()
        post = next(("".join(words[i:]) for i in range(len(words)) if "".join(words[i:]) in known_posts), None)
        if post:
            ids.append(f"*{post}{int(number)}")
    return tuple(ids)


def phrases(question: str) -> tuple[str, ...]:
    """Quoted phrases of a question, for exact matching."""
    return tuple(a or b for a, b in _PHRASE.findall(question))


def mentioned_period(question: str, after_days: int = REPORT_DAYS) -> tuple[str, str] | None:
    """The time a question is about, as an ISO date range a reporting cable would fall in.

    "in late August 2004" -> 2004-08-01 .. 2004-08-31 + ``after_days``; "in 2003" -> the year
    + ``after_days``; "late 2004" -> September-December.  None when the question names no year.
    """
    spans = []
    for part, month, year in _PERIOD.findall(question):
        year = int(year)
        part, month = part.lower(), month.lower()
        if month in _MONTHS:
            first, last = _MONTHS[month], _MONTHS[month]
        elif month in _SEASON:
            first, last = _SEASON[month]
        elif part:
            first, last = _PART[part]
        else:
            first, last = 1, 12
        start = date(year - (1 if first > last else 0), first, 1)
        end = date(year, last, calendar.monthrange(year, last)[1])
        spans.append((start, end + timedelta(days=after_days)))
    if not spans:
        return None
    return min(s for s, _ in spans).isoformat(), max(e for _, e in spans).isoformat()


def asked_clause(question: str) -> str | None:
    """The clause that asks, after a lead that sets the scene: "After X promised Y, what changed?"
    -> "what changed?".  None when there is no such lead, when the lead is itself the question
    ("What reason, given by X, did ...?"), or when it only names a time ("In May 2004, what ..."),
    which the time signal reads."""
    m = _LEAD_ASK.match(question.strip())
    if not m or _ASKS.match(m[1]) or len(_TIME_WORDS.sub(" ", m[1]).replace(",", " ").split()) < 3:
        return None
    return m[2]


def names_in(text: str, asked: frozenset[str], known: Callable[[str], bool]) -> int:
    """How many distinct names ``text`` holds whose stems are not in ``asked`` (a question's
    :func:`stems`): words the model's vocabulary lacks ("Utemuratov", "FJK"), capitalised
    where the text has lower case."""
    found = CAPITALISED.findall(text) if not text.isupper() else LONG_WORDS.findall(text)  # all caps: any word
    return sum(1 for w in {w.lower() for w in found} if w[:5] not in asked and not known(w))


@dataclass(frozen=True)
class Query:
    """A question as search and ranking read it (built by :meth:`parse`; nothing reads it twice)."""

    text: str
    filters: Filters = field(default_factory=Filters)  # stated in the question
    cables: tuple[str, ...] = ()  # named in it: "05ALMATY4281", or "*ALMATY4281" (year unknown)
    phrases: tuple[str, ...] = ()  # quoted: paragraphs must hold them word for word
    period: tuple[str, str] | None = None  # ISO dates a cable reporting the time it names falls in
    countries: frozenset[str] = frozenset()  # country codes, as cable TAGS spell them
    names: frozenset[str] = frozenset()  # stems of capitalised words after the first
    stems: frozenset[str] = frozenset()  # stems of all its words
    points_back: bool = False  # "he", "such", "And ...": it continues the chat
    asks_who: bool = False
    asking: str | None = None  # the asking clause after a lead that sets the scene

    @classmethod
    def parse(cls, question: str, known_posts: set[str] | None = None) -> Query:
        """Read ``question`` once; ``known_posts`` lets "ALMATY 4281" name a cable."""
        text = (question or "").strip()
        return cls(text=text, filters=stated_filters(text), cables=named_cables(text, known_posts),
                   phrases=phrases(text), period=mentioned_period(text), countries=frozenset(countries.named_in(text)),
                   names=stems(text, _NAME), stems=stems(text), points_back=bool(_BACK.search(text)),
                   asks_who=bool(_WHO.search(text)), asking=asked_clause(text))

    @property
    def has_words(self) -> bool:
        return bool(re.search(r"\w", self.text))

    def new_topic(self, conversation: Callable[[], str]) -> bool:
        """Whether the question leaves the conversation: it points nowhere back and names something
        that ``conversation()`` never mentions (called only when that decides it: it may read the store)."""
        if self.points_back or not self.names:
            return False
        return not self.names & stems(conversation())

    def describe(self) -> str:
        """What was understood, in one line: "period 2005-11..2006-02 · country KZ · cable 05ALMATY4281"."""
        parts = [self.filters.describe()] if self.filters else []
        if self.period:
            parts.append(f"period {self.period[0][:7]}..{self.period[1][:7]}")
        if self.countries:
            parts.append("country " + ", ".join(sorted(self.countries)))
        if self.cables:
            parts.append("cable " + ", ".join(c.lstrip("*") for c in self.cables))
        parts += [f"exact “{p}”" for p in self.phrases]
        if self.asks_who:
            parts.append("asks who")
        if self.asking:
            parts.append(f"asks “{self.asking}”")
        return " · ".join(parts)
