"""Ranking signals: what ranks a paragraph and by how much, in one table, with one fusion step.

Every signal gives some candidate paragraphs a value ``x`` (most between 0 and 1).  The fusion
walks :data:`SIGNALS` in order and adds, to each paragraph's score::

    score += weight × x × base

where ``base`` is the signal's *scale*, the one thing that differs between rows:

* ``rank``: a rank-1 fusion score, ``1 / (rrf_k + 1)``.  A ranking of the candidates gives
  ``x = (rrf_k + 1) / (rrf_k + rank)`` (reciprocal-rank fusion, 1 for the first); a yes/no
  prior gives 1 or 0;
* ``best``: the best score so far: the chat history's cable shares and a named cable sit on the
  question's own scale, however strong its match.

A signal marked ``leaders`` is a re-ranking stage: it scores only the ``Tuning.leaders`` best
candidates by the signals above it, so it decides between paragraphs the others already found.

Weights are :data:`WEIGHTS` unless a ``Tuning`` says otherwise; a negative weight demotes what
the signal marks, and a weight of 0 switches a signal off (and it is not computed), which is how
``benchmarks/loo.py`` leaves each one out.  The scorers read the question from its
:class:`~cableqa.query.Query` and the index through the ``Retriever`` (:mod:`cableqa.retrieval`);
each is measured on the question sets in ``benchmarks/`` (``retrieval.py``: what each adds,
``loo.py``: what each loses when left out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .query import Query, names_in


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    scale: str  # rank | best (module docstring)
    score: Callable[[Candidates], dict[int, float]]
    what: str
    leaders: bool = False  # scores only the best candidates so far (Candidates.leaders)


@dataclass
class Candidates:
    """The paragraphs one question's ranking fuses, and what its signals need to know about them."""

    query: Query
    retriever: object  # cableqa.retrieval.Retriever: rankings and index lookups
    pool: list[int]  # chunk ids, in the model's order (best cosine first)
    place: dict[int, tuple[str, int]]  # chunk id -> (cable id, paragraph ordinal)
    prior: dict[str, float] = field(default_factory=dict)  # the chat's earlier turns: cable -> score
    answered: list[int] = field(default_factory=list)  # their best paragraphs
    named: frozenset[str] = frozenset()  # cables the question names
    leaders: list[int] = field(default_factory=list)  # the best candidates so far, for a re-ranking signal

    def by_rank(self, ranked: list[int]) -> dict[int, float]:
        """A ranking as reciprocal-rank values, 1 for the first."""
        k = self.retriever.tuning.rrf_k
        return {cid: (k + 1) / (k + r + 1) for r, cid in enumerate(ranked)}

    def of_cables(self, cables: set[str] | dict) -> dict[int, float]:
        """1 for every candidate from one of ``cables``."""
        return {cid: 1.0 for cid in self.pool if self.place[cid][0] in cables}


def dense(c: Candidates) -> dict[int, float]:
    return c.by_rank(c.pool)


def keyword(c: Candidates) -> dict[int, float]:  # by chunk id: equal scores keep that order
    return c.by_rank(c.retriever.keyword(c.query.text, sorted(c.pool), len(c.pool)))


def asking(c: Candidates) -> dict[int, float]:
    if not c.query.asking:
        return {}
    return c.by_rank(c.retriever.exact(c.retriever.encode(c.query.asking), sorted(c.pool)))


def time(c: Candidates) -> dict[int, float]:
    if not c.query.period:
        return {}
    return c.of_cables(c.retriever.dated(sorted({p[0] for p in c.place.values()}), c.query.period))


def country(c: Candidates) -> dict[int, float]:
    if not c.query.countries:
        return {}
    about = c.retriever.countries(sorted({p[0] for p in c.place.values()}))
    return c.of_cables({cable for cable, codes in about.items() if codes & c.query.countries})


def who(c: Candidates) -> dict[int, float]:
    if not c.query.asks_who:
        return {}
    texts = c.retriever.texts(c.pool)
    known = c.retriever.embedder.known_word
    return {cid: min(names_in(texts[cid], c.query.stems, known), 3) / 3 for cid in c.pool}


def history(c: Candidates) -> dict[int, float]:
    top = max(c.prior.values(), default=0.0)
    if top <= 0:
        return {}
    return {cid: c.prior.get(c.place[cid][0], 0.0) / top for cid in c.pool}


def beside(c: Candidates) -> dict[int, float]:
    if not c.prior:
        return {}
    place = c.retriever.places(c.answered)
    near = {place[a] for a in c.answered}
    return {cid: 1.0 for cid in c.pool
            if {(c.place[cid][0], c.place[cid][1] + d) for d in (-1, 0, 1)} & near}


def named_cable(c: Candidates) -> dict[int, float]:
    return c.of_cables(c.named)


def opening(c: Candidates) -> dict[int, float]:
    return {cid: 1.0 for cid in c.pool if c.place[cid][1] == 1}


def sentence(c: Candidates) -> dict[int, float]:
    q = c.retriever.encode(c.query.text)
    best = {cid: float((vecs @ q).max()) for cid, vecs in c.retriever.sentences(c.leaders).items() if len(vecs)}
    return c.by_rank(sorted(best, key=lambda cid: -best[cid]))


SIGNALS = (
    Signal("dense", 1.0, "rank", dense, "the model: cosine of question and context + paragraph"),
    Signal("keyword", 1.0, "rank", keyword, "BM25 over the paragraph (1.0) and its cable context (0.5)"),
    Signal("ask", 0.5, "rank", asking, "the model on the asking clause alone, after a lead setting the scene"),
    Signal("time", 1.0, "rank", time, "cable dated in the period the question names (or 90 days after)"),
    Signal("country", 0.5, "rank", country, "cable tagged with (or sent from a post of) a country named"),
    Signal("who", 0.5, "rank", who, "who-question: names the question lacks (up to 3) in the paragraph"),
    Signal("history", 1.0, "best", history, "its cable's share of the earlier turns' best cable score"),
    Signal("beside", 0.5, "rank", beside, "next to one of the earlier turns' 3 best paragraphs"),
    Signal("named_cable", 1.0, "best", named_cable, "from a cable the question names: first"),
    Signal("opening", -0.3, "rank", opening, "a cable's first paragraph, its summary or purpose: it restates the "
           "paragraphs below, so a close call goes to the one that gives the detail"),
    Signal("sentence", 1.0, "rank", sentence, "the 20 best so far by their best sentence's cosine with the question "
           "(sentence vectors from the paragraph's own pass: cableqa.sentences)", leaders=True),
)
WEIGHTS = {s.name: s.weight for s in SIGNALS}
RANKINGS = ("dense", "keyword", "ask")  # the rank fusion; a cable's score for the chat is its best paragraph's
EARLIER = ("dense", "keyword", "time", "country", "who")  # what ranks the chat's earlier turns


def fuse(c: Candidates, weights: Mapping[str, float], only: tuple[str, ...] | None = None
         ) -> tuple[dict[int, float], dict[int, float]]:
    """Scores of the candidates: every signal's ``weight × x × base`` added in table order
    (``only``: just these).  Also the scores after the rank fusion alone (:data:`RANKINGS`)."""
    unit = 1.0 / (c.retriever.tuning.rrf_k + 1)
    scores = dict.fromkeys(c.pool, 0.0)
    fused = scores
    for s in SIGNALS:
        w = weights.get(s.name, 0.0)
        if w and (only is None or s.name in only):
            if s.leaders:
                c.leaders = sorted(scores, key=lambda cid: -scores[cid])[: c.retriever.tuning.leaders]
            values = s.score(c)
            base = max(scores.values()) if s.scale == "best" and scores else unit
            for cid, x in values.items():
                scores[cid] += w * x * base
        if s.name == RANKINGS[-1]:
            fused = dict(scores)
    return scores, fused


def describe(weights: Mapping[str, float] = WEIGHTS) -> str:
    """The signal table, for people: name, weight, scale, what it rewards."""
    rows = [f"{'signal':<12}{'weight':>7}  {'scale':<5}  what"]
    rows += [f"{s.name:<12}{weights.get(s.name, 0.0):>7.2f}  {s.scale:<5}  {s.what}" for s in SIGNALS]
    return "\n".join(rows)
