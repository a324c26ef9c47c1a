"""The matching cables at a glance: how many by month (or year), by post and by TAGS.

"Matching" means the distinct cables of the best :data:`PARAGRAPHS` paragraphs
the question's search ranks (same filters, same earlier turns): every cable
ranks somewhere, so the top of the ranking is what a question matches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PARAGRAPHS = 200
MAX_MONTHS = 180  # a longer span is counted by year: bars stay readable
TOP = 10


@dataclass(frozen=True)
class Glance:
    cables: int
    unit: str  # "month" or "year"
    timeline: tuple[tuple[str, int], ...]  # ("2005-12", 3): every period from the first to the last, zeros too
    posts: tuple[tuple[str, int], ...]  # most cables first
    tags: tuple[tuple[str, int], ...]
    undated: int = 0


def _months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _top(counts: Counter, top: int) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top])


def glance(cables: Iterable[tuple[str, str, Iterable[str]]], max_months: int = MAX_MONTHS, top: int = TOP) -> Glance:
    """Counts over ``cables`` given as (origin, created ISO date or "", tags), one row per cable."""
    months: Counter = Counter()
    posts: Counter = Counter()
    tags: Counter = Counter()
    n = undated = 0
    for origin, created, cable_tags in cables:
        n += 1
        if len(created or "") >= 7 and created[:4].isdigit() and created[5:7].isdigit():
            months[created[:7]] += 1
        else:
            undated += 1
        if origin:
            posts[origin] += 1
        tags.update({t.strip().upper() for t in cable_tags if t and t.strip()})
    unit, timeline = "month", ()
    if months:
        periods = _months(min(months), max(months))
        if len(periods) > max_months:
            unit = "year"
            years: Counter = Counter()
            for month, count in months.items():
                years[month[:4]] += count
            periods = [str(y) for y in range(int(min(years)), int(max(years)) + 1)]
            months = years
        timeline = tuple((p, months.get(p, 0)) for p in periods)
    return Glance(n, unit, timeline, _top(posts, top), _top(tags, top), undated)


def period_bounds(selected) -> tuple[str, str] | None:
    """(since, until) for the periods a chart selection covers ("2005-11", "2006-02" or years); None if none."""
    labels = [str(v) for v in (selected if isinstance(selected, (list, tuple)) else [selected]) if v is not None]
    labels = [v for v in labels if len(v) in (4, 7) and v[:4].isdigit()]
    if not labels:
        return None
    return min(labels), max(labels)
