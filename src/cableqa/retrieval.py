"""Ranking chunks for a question: candidates from meaning and words, then the signals fused.

Stage 1 ranks the whole index twice: by embedding similarity (FAISS) and by
BM25 (:mod:`cableqa.keywords`, over the paragraph and its cable context).
Stage 2 pools those candidates with every paragraph of the best cables (and of
those the earlier chat turns point to, and those the question names) and
scores the pool with the signals of :mod:`cableqa.signals`: one table of
weights, one fusion step.  The chat's earlier turns are ranked the same way
first; their best cables and paragraphs are what the history signals read,
unless the question names something new and points nowhere back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import countries, signals
from .index import Index
from .query import Query

EXACT_MAX = 50_000  # filtered subsets up to this many chunks are searched exactly


@dataclass(frozen=True)
class Tuning:
    """Retrieval knobs: how candidates are found, and the signals' weights (:data:`signals.WEIGHTS`)."""

    mode: str = "hybrid"  # hybrid | dense | keyword (the single-signal baselines)
    dense_k: int = 100
    keyword_k: int = 100
    rrf_k: float = 10.0
    kw_text: float = 1.0  # BM25 field weights: paragraph text, cable context
    kw_context: float = 0.5
    expand_cables: int = 8  # every paragraph of this many best cables (and the earlier turns') joins the pool
    followup_paras: int = 3  # how many of the earlier turns' best paragraphs the "beside" signal reads
    leaders: int = 20  # how many of the best candidates a re-ranking signal ("sentence") reorders
    weights: Mapping[str, float] = field(default_factory=lambda: dict(signals.WEIGHTS))

    def weighted(self, **changes: float) -> Tuning:
        """A copy with some signals' weights changed: ``Tuning().weighted(time=0)`` leaves time out."""
        unknown = set(changes) - set(signals.WEIGHTS)
        if unknown:
            raise ValueError(f"no signal {', '.join(sorted(unknown))}; signals: {', '.join(signals.WEIGHTS)}")
        return replace(self, weights={**self.weights, **changes})

    def w(self, name: str) -> float:
        return self.weights.get(name, 0.0)


def _rrf(rankings: Sequence[tuple[Sequence[int], float]], k: float) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank + 1)
    return scores


def earlier_turns(history: Sequence[str]) -> str:
    """The chat's earlier user turns as one text, the way the ranking reads them."""
    return " ".join(h for h in history if h and h.strip())


class Retriever:
    def __init__(self, index: Index, embedder, tuning: Tuning, known: Mapping[str, np.ndarray] | None = None):
        self.index = index
        self.embedder = embedder
        self.tuning = tuning
        self.known: dict[str, np.ndarray] = dict(known or {})  # query vectors by text (given: embedded ahead)

    def encode(self, text: str) -> np.ndarray:
        """The query vector of ``text``, embedded once per Retriever (:meth:`encode_all` usually made it)."""
        if text not in self.known:
            self.known[text] = self.embedder.encode_query(text)
        return self.known[text]

    def needs(self, query: Query, history: Sequence[str]) -> list[str]:
        """The texts :meth:`rank` embeds for ``query`` after ``history``: the question, in hybrid mode
        its asking clause and the earlier turns too (when their signals are on)."""
        t = self.tuning
        if t.mode == "keyword":
            return []
        earlier = earlier_turns(history) if t.mode == "hybrid" and t.w("history") else ""
        asking = query.asking if t.mode == "hybrid" and t.w("ask") else None
        return [x for x in (query.text, asking, earlier and Query.parse(earlier).text) if x]

    def encode_all(self, texts: Sequence[str]) -> None:
        """Embed those of ``texts`` not embedded yet in one model pass (cheaper than one at a time)."""
        missing = [x for x in dict.fromkeys(texts) if x not in self.known]
        if missing:
            self.known.update(zip(missing, self.embedder.encode(missing)))

    def encoded(self, text: str) -> np.ndarray | None:
        """The query vector of ``text`` if :meth:`encode` made it already (None: never embedded)."""
        return self.known.get(text)

    # -- single rankings ---------------------------------------------------------
    def exact(self, qvec: np.ndarray, ids: list[int]) -> list[int]:
        """``ids`` by cosine similarity, best first, every one scored (vectors from memory)."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids[np.argsort(-(self.index.vectors(ids) @ qvec))].tolist()

    def dense(self, qvec: np.ndarray, allowed: list[int] | None, k: int) -> list[int]:
        """Chunk ids by cosine similarity, best first; ``allowed``: only these."""
        if allowed is not None and len(allowed) <= EXACT_MAX:
            return self.exact(qvec, allowed)[:k]
        want = k if allowed is None else max(k * 10, 1000)
        ids = self.index.nearest(qvec, want)
        if allowed is not None:
            keep = set(allowed)
            ids = [i for i in ids if i in keep]
        return ids[:k]

    def keyword(self, text: str, allowed: list[int] | None, k: int) -> list[int]:
        """Chunk ids by BM25, best first; ``allowed``: only these."""
        t = self.tuning
        return [cid for cid, _ in self.index.keywords.search(text, k, (t.kw_text, t.kw_context), within=allowed)]

    # -- lookups (what the signals read) ------------------------------------------
    def places(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Chunk id -> (cable id, paragraph ordinal)."""
        return self.index.places(ids)

    def countries(self, cables: list[str]) -> dict[str, set[str]]:
        """Cable id -> its country codes: its geographic tags, and its post's usual one."""
        homes = self.index.homes
        return {cid: set(countries.geographic(tags)) | {homes.get(origin)}
                for cid, origin, _, tags in self.index.facets(cables)}

    def dated(self, cables: list[str], period: tuple[str, str]) -> set[str]:
        """Those of ``cables`` written in ``period`` (ISO dates, inclusive)."""
        return self.index.dated(cables, period)

    def texts(self, ids: list[int]) -> dict[int, str]:
        return self.index.texts(ids)

    def sentences(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Chunk id -> its sentence vectors."""
        return self.index.sentences(ids)

    # -- fused ---------------------------------------------------------------------
    def candidates(self, query: Query, allowed: list[int] | None, extra_cables: Sequence[str] = ()
                   ) -> signals.Candidates:
        """Stage 1 (both rankings over the index, fused) and every paragraph of its best cables and
        of ``extra_cables``, in the model's order."""
        t = self.tuning
        qvec = self.encode(query.text)
        stage1 = _rrf([(self.dense(qvec, allowed, t.dense_k), t.w("dense")),
                       (self.keyword(query.text, allowed, t.keyword_k), t.w("keyword"))], t.rrf_k)
        first: dict[str, float] = {}
        for cid, (cable, _) in self.places(list(stage1)).items():
            first[cable] = max(first.get(cable, 0.0), stage1[cid])
        cables = sorted(first, key=lambda c: -first[c])[: t.expand_cables]
        cables += [c for c in extra_cables if c not in cables]
        pool = set(stage1) | set(self.index.chunks_of(cables))
        pool = sorted(pool if allowed is None else pool & set(allowed))  # filters can be finer than a cable
        return signals.Candidates(query, self, self.exact(qvec, pool), self.places(pool))

    def rank(self, query: Query, history: Sequence[str], allowed: list[int] | None, named: Sequence[str] = ()
             ) -> dict[int, float]:
        """Chunk id -> score for ``query`` asked after the user turns ``history``; ``named``: the
        cables it names, as the index spells them (the single-signal baselines ignore them)."""
        t = self.tuning
        self.encode_all(self.needs(query, history))
        if t.mode == "dense":
            return _rrf([(self.dense(self.encode(query.text), allowed, t.dense_k), 1.0)], t.rrf_k)
        if t.mode == "keyword":
            return _rrf([(self.keyword(query.text, allowed, t.keyword_k), 1.0)], t.rrf_k)
        extra, prior, answered = self._conversation(query, history, allowed)
        c = self.candidates(query, allowed, [*extra, *(n for n in named if n not in extra)])
        c.prior, c.answered, c.named = prior, answered, frozenset(named)
        return signals.fuse(c, t.weights)[0]

    def _conversation(self, query: Query, history: Sequence[str], allowed: list[int] | None
                      ) -> tuple[list[str], dict[str, float], list[int]]:
        """What the chat's earlier turns found: their best cables (to pool), each cable's score and
        their best paragraphs; nothing when the question leaves the conversation."""
        t = self.tuning
        earlier = earlier_turns(history)
        if not earlier or not t.w("history"):
            return [], {}, []
        c = self.candidates(replace(Query.parse(earlier), asking=None), allowed)
        before, fused = signals.fuse(c, t.weights, only=signals.EARLIER)
        prior: dict[str, float] = {}
        for cid, s in fused.items():
            prior[c.place[cid][0]] = max(prior.get(c.place[cid][0], 0.0), s)
        cables = sorted(prior, key=lambda cable: -prior[cable])

        def conversation() -> str:  # the earlier turns and the text of the cable they found best
            return " ".join([earlier, *self.index.texts_of(cables[:1])])

        if query.new_topic(conversation):  # a fresh question: the earlier turns would only mislead
            return [], {}, []
        return cables[: t.expand_cables], prior, sorted(before, key=lambda cid: -before[cid])[: t.followup_paras]
