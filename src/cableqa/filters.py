"""Search filters: origin (fuzzy), date range, classification, tags, cable ids.

They come from flags (:meth:`Filters.from_flags`) or from what a question
states explicitly (:func:`parse_question`): "cables from Cairo in 2008",
"secret cables", "tagged PTER", "05ALMATY4281" / "ALMATY 4281".  Parsed
filters are shown back to the user; filters that match nothing say so.
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from dataclasses import dataclass, replace

CLASSIFICATIONS = {
    "secret": "SECRET", "confidential": "CONFIDENTIAL", "unclassified": "UNCLASSIFIED",
    "noforn": "NOFORN", "sbu": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
}
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
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
CABLE_ID = re.compile(r"\b(\d{2}[A-Z]{3,}\d{1,7})\b", re.IGNORECASE)
_POST_NUMBER = re.compile(r"\b([A-Za-z]{3,}(?: [A-Za-z]{3,}){0,3}) 0*(\d{2,7})\b")


def fold(text: str) -> str:
    """Lower-case, accents off, punctuation to spaces: "São Paulo" ~ "sao paulo"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _date_bound(value: str, end: bool) -> str:
    """"2008" -> 2008-01-01 (or 2008-12-31 as an end); "2008-03" and "2008-03-05" likewise."""
    value = value.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", value)
    if not m:
        raise ValueError(f"date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    if month is None:
        month_i, day_i = (12, 31) if end else (1, 1)
    else:
        month_i = int(month)
        if not 1 <= month_i <= 12:
            raise ValueError(f"date {value!r} has no month {month_i}")
        day_i = int(day) if day else (calendar.monthrange(year, month_i)[1] if end else 1)
        if not 1 <= day_i <= calendar.monthrange(year, month_i)[1]:
            raise ValueError(f"date {value!r} has no day {day_i}")
    return f"{year:04d}-{month_i:02d}-{day_i:02d}"


@dataclass(frozen=True)
class Filters:
    origin: str | None = None
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None  # YYYY-MM-DD, inclusive
    classification: str | None = None
    tags: tuple[str, ...] = ()
    cable_ids: tuple[str, ...] = ()

    @classmethod
    def from_flags(cls, origin=None, since=None, until=None, classification=None, tags=(),
                   cable_ids=()) -> Filters:
        """Filters from user input; raises ValueError with a readable message on bad values."""
        cls_value = None
        if classification:
            cls_value = CLASSIFICATIONS.get(classification.strip().lower(), classification.strip().upper())
        f = cls(origin=(origin or "").strip() or None,
                date_from=_date_bound(since, end=False) if since else None,
                date_to=_date_bound(until, end=True) if until else None,
                classification=cls_value,
                tags=tuple(t.strip().upper() for t in tags if t and t.strip()),
                cable_ids=tuple(c.strip().upper() for c in cable_ids if c and c.strip()))
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise ValueError(f"the date range {f.date_from} to {f.date_to} is empty")
        return f

    @classmethod
    def from_panel(cls, origin="", since="", until="", classification="", tags="") -> Filters:
        """Filters from the web UI's boxes: "any" classification is none, tags split on spaces and commas."""
        return cls.from_flags(origin=origin, since=since, until=until,
                              classification=None if classification in (None, "", "any") else classification,
                              tags=re.split(r"[\s,;]+", tags or ""))

    def __bool__(self) -> bool:
        return any((self.origin, self.date_from, self.date_to, self.classification, self.tags, self.cable_ids))

    def merged(self, other: Filters) -> Filters:
        """``self`` with the fields ``other`` sets (``other`` wins)."""
        return replace(self, **{k: v for k, v in other.__dict__.items() if v})

    def describe(self) -> str:
        parts = []
        if self.origin:
            parts.append(f"origin ~ {self.origin}")
        if self.date_from or self.date_to:
            parts.append(f"dated {self.date_from or '…'} to {self.date_to or '…'}")
        if self.classification:
            parts.append(f"classification {self.classification}")
        if self.tags:
            parts.append("tagged " + ", ".join(self.tags))
        if self.cable_ids:
            parts.append("cable " + ", ".join(self.cable_ids))
        return "; ".join(parts)

    def sql(self, origins: list[str] | None = None) -> tuple[str, list]:
        """WHERE clause over the ``cables`` table (alias k); ``origins``: the origin filter resolved."""
        where, params = [], []
        if self.origin:
            where.append(f"k.origin IN ({','.join('?' * len(origins or []))})" if origins else "0")
            params += origins or []
        if self.date_from:
            where.append("k.created >= ?")
            params.append(self.date_from)
        if self.date_to:
            where.append("k.created < ?")
            params.append(self.date_to + "T99")
        if self.classification:
            where.append("(k.classification = ? OR k.classification LIKE ?)")
            params += [self.classification, f"%{self.classification}%"]
        for tag in self.tags:
            where.append("EXISTS (SELECT 1 FROM json_each(k.tags) WHERE upper(json_each.value) = ?)")
            params.append(tag)
        if self.cable_ids:
            where.append(f"k.id IN ({','.join('?' * len(self.cable_ids))})")
            params += list(self.cable_ids)
        return " AND ".join(where) or "1", params


def match_origins(wanted: str, origins: list[str]) -> list[str]:
    """Origins matching ``wanted``: folded substring ("almaty" in "US Office Almaty"), else close spellings."""
    key = fold(wanted)
    if not key:
        return []
    hits = [o for o in origins if key in fold(o)]
    if hits:
        return hits
    places = {fold(o).split(" ", 1)[-1] if " " in o else fold(o): o for o in origins}
    return [places[p] for p in difflib.get_close_matches(key, list(places), n=3, cutoff=0.8)]


@dataclass(frozen=True)
class Parsed:
    filters: Filters
    mentioned_ids: tuple[str, ...]  # cable ids named in the question: ranked first
    years: tuple[int, ...]  # years the question names (a soft signal, not a filter)


def parse_question(question: str, known_posts: set[str] | None = None) -> Parsed:
    """Filters stated explicitly in ``question``, cable ids it names, and years it mentions."""
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
            date_from = _date_bound(f"{year}-{mo}" if mo else year, end=False)
            date_to = _date_bound(f"{year}-{mo}" if mo else year, end=True)
        elif y1:
            date_from, date_to = _date_bound(min(y1, y2), False), _date_bound(max(y1, y2), True)
        elif rel:
            if rel.lower() in ("since", "after"):
                date_from = _date_bound(ry, False) if rel.lower() == "since" else _date_bound(str(int(ry) + 1), False)
            else:
                date_to = _date_bound(ry, True) if rel.lower() == "until" else _date_bound(str(int(ry) - 1), True)
    else:
        m = _DATE_LEAD.search(question)
        if m:
            date_from, date_to = _date_bound(m.group(1), False), _date_bound(m.group(1), True)
    tags: tuple[str, ...] = ()
    m = _TAGGED.search(question)
    if m:
        tags = tuple(t for t in re.split(r"[\s,]+", m.group(1)) if t and t not in ("and", "or"))
    classification = None
    m = _CLASSIFIED.search(question)
    if m:
        classification = CLASSIFICATIONS[m.group(1).lower()]
    ids = list(dict.fromkeys(i.upper() for i in CABLE_ID.findall(question)))
    for words, number in _POST_NUMBER.findall(question):
        if known_posts is None or re.fullmatch(r"19[4-9]\d|20[01]\d", number):
            continue  # "Almaty 2005" is a place and a year, not a cable
        words = words.upper().split()
        post = next(("".join(words[i:]) for i in range(len(words)) if "".join(words[i:]) in known_posts), None)
        if post:
            ids.append(f"*{post}{int(number)}")  # "ALMATY 4281": the year is resolved against the index
    years = tuple(sorted({int(y) for y in re.findall(r"\b(19[4-9]\d|20[01]\d)\b", question)}))
    return Parsed(Filters(origin=origin, date_from=date_from, date_to=date_to, classification=classification,
                          tags=tags), tuple(ids), years)


_SEASON = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 2)}
_PART = {"early": (1, 4), "mid": (5, 8), "middle": (5, 8), "late": (9, 12)}
_PERIOD = re.compile(r"\b(?:(early|mid|middle|late)[- ]+)?(?:(" + "|".join(_MONTHS) + "|" + "|".join(_SEASON)
                     + r")\s+(?:of\s+)?)?(?:\d{1,2},?\s+)?(19[4-9]\d|20[0-2]\d)\b", re.IGNORECASE)


def mentioned_period(question: str, after_days: int = 90) -> tuple[str, str] | None:
    """The time a question is about, as an ISO date range a reporting cable would fall in.

    "in late August 2004" -> 2004-08-01 .. 2004-08-31 + ``after_days``; "in 2003" -> the year
    + ``after_days``; "late 2004" -> September-December.  Cables report events days or weeks
    after, hence the tail.  None when the question names no year.
    """
    from datetime import date, timedelta

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
