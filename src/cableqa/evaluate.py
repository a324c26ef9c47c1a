"""Retrieval evaluation, scored as ../shared/eval/README.md says.

A returned passage is a hit when its text, lower-cased with every run of
non-alphanumeric characters turned into one space, contains the question's
evidence normalised the same way.  Reported over the first 10 passages:
Recall@1/5/10, MRR@10 and cable-level Recall@5, overall and per type.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .text import normalise

COLUMNS = ("R@1", "R@5", "R@10", "MRR@10", "cableR@5")


@dataclass
class Scores:
    """Per-question sums of each of :data:`COLUMNS`, over ``n`` questions."""

    n: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0.0))

    def add(self, rank: int | None, cable_rank: int | None) -> None:
        self.n += 1
        if rank is not None:
            for k in (1, 5, 10):
                self.sums[f"R@{k}"] += rank <= k
            self.sums["MRR@10"] += 1.0 / rank
        if cable_rank is not None and cable_rank <= 5:
            self.sums["cableR@5"] += 1

    def row(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {"n": self.n, **{name: total / n for name, total in self.sums.items()}}


@dataclass
class Scorecard:
    overall: Scores = field(default_factory=Scores)
    by_type: dict[str, Scores] = field(default_factory=dict)
    misses: list[dict] = field(default_factory=list)
    ranks: list[dict] = field(default_factory=list)  # per question, in order: qid, type, rank, cable_rank
    latencies: list[float] = field(default_factory=list)

    def table(self, title: str = "") -> str:
        head = f"{'':<12}{'n':>5}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'cableR@5':>10}"
        lines = [title, head] if title else [head]
        for name, s in [("overall", self.overall), *sorted(self.by_type.items())]:
            r = s.row()
            lines.append(f"{name:<12}{r['n']:>5}{r['R@1']:>7.3f}{r['R@5']:>7.3f}{r['R@10']:>7.3f}"
                         f"{r['MRR@10']:>8.3f}{r['cableR@5']:>10.3f}")
        if any(self.latencies):
            lat = sorted(self.latencies)
            lines.append(f"latency p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
                         f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.1f} ms")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"overall": self.overall.row(), "by_type": {k: v.row() for k, v in sorted(self.by_type.items())},
                "misses": self.misses}


def read_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a JSON Lines file; a bad line raises ValueError naming it."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
    return out


def load_questions(path: str | Path) -> list[dict]:
    out = read_jsonl(path)
    for n, q in enumerate(out, 1):
        if "q" not in q:
            raise ValueError(f"{path}: question {n} has no 'q' field")
    return out


def score(questions: Iterable[dict], answer: Callable[[dict], list[dict]]) -> Scorecard:
    """``answer(question)`` returns hits (dicts with ``text`` and ``cable_id``), best first."""
    report = Scorecard()
    for q in questions:
        started = time.perf_counter()
        hits = answer(q)[:10]
        report.latencies.append(time.perf_counter() - started)
        evidence = normalise(q.get("evidence", ""))
        rank = next((i for i, h in enumerate(hits, 1) if evidence.strip() and evidence in normalise(h["text"])),
                    None)
        cable_rank = next((i for i, h in enumerate(hits, 1) if h["cable_id"] == q.get("cable_id")), None)
        report.overall.add(rank, cable_rank)
        report.by_type.setdefault(q.get("type", "all"), Scores()).add(rank, cable_rank)
        report.ranks.append({"qid": q.get("qid"), "type": q.get("type"), "rank": rank, "cable_rank": cable_rank})
        if rank is None or rank > 5:
            report.misses.append({"qid": q.get("qid"), "type": q.get("type"), "rank": rank,
                                  "cable_rank": cable_rank, "q": q["q"],
                                  "top": [f"{h['cable_id']} ¶{h.get('para')}" for h in hits[:3]]})
    return report
