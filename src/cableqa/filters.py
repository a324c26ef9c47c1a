"""Search filters: origin (fuzzy), date range, classification, tags, cable ids.

They come from flags (:meth:`Filters.from_flags`) or from what a question
states explicitly (:func:`cableqa.query.stated_filters`): "cables from Cairo in 2008",
"secret cables", "tagged PTER".  Parsed filters are shown back to the user;
filters that match nothing say so.
"""

from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass, replace

from .text import fold

CLASSIFICATIONS = {
    "secret": "SECRET", "confidential": "CONFIDENTIAL", "unclassified": "UNCLASSIFIED",
    "noforn": "NOFORN", "sbu": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
}


def date_bound(value: str, end: bool) -> str:
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
                date_from=date_bound(since, end=False) if since else None,
                date_to=date_bound(until, end=True) if until else None,
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
