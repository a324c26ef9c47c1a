"""Ranking chunks for a question: dense + keyword, fused, with cable context and chat history.

Stage 1 ranks the whole index twice: by embedding similarity (FAISS) and by
BM25 (FTS5, over the paragraph and its cable context).  Stage 2 looks at the
cables those rankings point to and scores *every* paragraph of the best of
them exactly, because the answer to a question is often a paragraph whose
own words are weak while its cable is obviously the right one (the
``context`` questions).  Each candidate's score is a weighted reciprocal-rank
fusion of its dense and keyword ranks, plus a share of its cable's best
score.  Earlier chat turns are retrieved the same way and lend their cables
a down-weighted prior, which is how a follow-up such as "Has the new
minister ever been linked to graft?" finds the cable of the question before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import store, vectors
from .index import Index

EXACT_MAX = 50_000  # filtered subsets up to this many chunks are searched exactly


@dataclass(frozen=True)
class Tuning:
    """Retrieval knobs, tuned on ../shared/eval/dev.jsonl (see benchmarks/retrieval.py)."""

    mode: str = "hybrid"  # hybrid | dense | keyword (the single-signal baselines)
    dense_k: int = 100
    keyword_k: int = 100
    rrf_k: float = 10.0
    w_dense: float = 1.0
    w_keyword: float = 1.0
    kw_text: float = 1.0  # BM25 field weights: paragraph text, cable context
    kw_context: float = 0.5
    expand_cables: int = 8  # stage 2: every paragraph of this many best cables is scored
    cable_weight: float = 0.5  # share of the cable's best score added to each of its paragraphs
    neighbor_weight: float = 0.0  # share of the best adjacent paragraph's score
    fusion: str = "rrf"  # rrf (ranks) | z (z-scored similarities)
    who_weight: float = 0.5  # bonus (in rank-1 shares) for naming people, on who-questions
    history_weight: float = 1.0  # prior from the cables the earlier chat turns retrieve
    prf_weight: float = 0.0  # pseudo-relevance feedback: pull the query toward the top chunks
    prf_docs: int = 3


_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_WORDS = re.compile(r"[A-Za-z]{3,}")


def names_in(text: str, question: str, known: Callable[[str], bool]) -> int:
    """How many distinct names ``text`` holds that ``question`` does not: words the model's
    vocabulary lacks ("Utemuratov", "FJK"), capitalised where the text has lower case."""
    asked = {w.lower()[:5] for w in _WORDS.findall(question)}
    mixed = any(c.islower() for c in text)
    return len({w.lower() for w in _WORDS.findall(text)
                if (not mixed or w[0].isupper()) and w.lower()[:5] not in asked and not known(w.lower())})


def _rrf(rankings: Sequence[tuple[Sequence[int], float]], k: float) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank + 1)
    return scores


class Retriever:
    def __init__(self, index: Index, embedder, tuning: Tuning):
        self.index = index
        self.embedder = embedder
        self.tuning = tuning

    # -- single signals ----------------------------------------------------------
    def dense(self, qvec: np.ndarray, allowed: list[int] | None, k: int) -> list[int]:
        if allowed is not None and len(allowed) <= EXACT_MAX:
            ids, vecs = store.vectors_of(self.index.conn, allowed, self.index.manifest.dim)
            return ids[np.argsort(-(vecs @ qvec))[:k]].tolist()
        want = k if allowed is None else max(k * 10, 1000)
        ids = vectors.search(self.index.faiss, qvec, want)[0].tolist()
        if allowed is not None:
            keep = set(allowed)
            ids = [i for i in ids if i in keep]
        return ids[:k]

    def keyword(self, text: str, allowed: list[int] | None, k: int) -> list[int]:
        """Chunk ids by BM25, best first; ``allowed``: only these."""
        t = self.tuning
        hits = self.index.keywords.search(text, k, (t.kw_text, t.kw_context), within=allowed)
        return [cid for cid, _ in hits]

    # -- fused ---------------------------------------------------------------------
    def _places(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Chunk id -> (cable id, paragraph ordinal)."""
        out: dict[int, tuple[str, int]] = {}
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            out.update((r[0], (r[1], r[2])) for r in self.index.conn.execute(
                f"SELECT id, cable_id, ordinal FROM chunks WHERE id IN ({','.join('?' * len(part))})", part))
        return out

    def _texts(self, ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            out.update(self.index.conn.execute(
                f"SELECT id, text FROM chunks WHERE id IN ({','.join('?' * len(part))})", part).fetchall())
        return out

    def _chunks_of_cables(self, cables: list[str]) -> list[int]:
        if not cables:
            return []
        return [r[0] for r in self.index.conn.execute(
            f"SELECT id FROM chunks WHERE cable_id IN ({','.join('?' * len(cables))})", cables)]

    def _score(self, question: str, allowed: list[int] | None,
               extra_cables: Sequence[str] = ()) -> tuple[dict[int, float], dict[str, float]]:
        """Chunk scores and cable scores for one question (stage 1 + stage 2)."""
        t = self.tuning
        qvec = self.embedder.encode_query(question)
        dense = self.dense(qvec, allowed, t.dense_k)
        keyword = self.keyword(question, allowed, t.keyword_k)
        stage1 = _rrf([(dense, t.w_dense), (keyword, t.w_keyword)], t.rrf_k)
        place = self._places(list(stage1))
        best: dict[str, float] = {}
        for cid, s in stage1.items():
            cable = place[cid][0]
            best[cable] = max(best.get(cable, 0.0), s)
        top_cables = sorted(best, key=lambda c: -best[c])[: t.expand_cables]
        top_cables += [c for c in extra_cables if c not in top_cables]
        pool = set(stage1) | set(self._chunks_of_cables(top_cables))
        if allowed is not None:  # filters can be finer than a cable (quoted phrases)
            pool &= set(allowed)
        pool = sorted(pool)
        ids, vecs = store.vectors_of(self.index.conn, pool, self.index.manifest.dim)
        if t.prf_weight > 0 and stage1:
            # pseudo-relevance feedback: move the query toward the best first-stage chunks
            top = sorted(stage1, key=lambda c: -stage1[c])[: t.prf_docs]
            pos = {c: i for i, c in enumerate(ids.tolist())}
            qvec = qvec + t.prf_weight * vecs[[pos[c] for c in top]].mean(axis=0)
            qvec = qvec / np.linalg.norm(qvec)
        sims = vecs @ qvec
        if t.fusion in ("z", "mm"):
            bm = dict(self.index.keywords.search(question, len(pool), (t.kw_text, t.kw_context), within=pool))
            b = np.array([bm.get(i, 0.0) for i in ids.tolist()])
            if t.fusion == "z":
                norm = lambda x: (x - x.mean()) / (x.std() + 1e-9)
            else:
                norm = lambda x: (x - x.min()) / (x.max() - x.min() + 1e-9)
            fused = t.w_dense * norm(sims) + t.w_keyword * norm(b)
            own = dict(zip(ids.tolist(), (fused - fused.min()).tolist()))
        else:
            by_dense = ids[np.argsort(-sims)].tolist()
            by_keyword = self.keyword(question, pool, len(pool))
            own = _rrf([(by_dense, t.w_dense), (by_keyword, t.w_keyword)], t.rrf_k)
        place.update(self._places([i for i in pool if i not in place]))
        para_score: dict[tuple[str, int], float] = {}
        cable_score: dict[str, float] = {}
        for cid, s in own.items():
            cable, ordinal = place[cid]
            para_score[(cable, ordinal)] = max(para_score.get((cable, ordinal), 0.0), s)
            cable_score[cable] = max(cable_score.get(cable, 0.0), s)
        who = t.who_weight > 0 and _WHO.search(question) is not None
        texts = self._texts(list(own)) if who else {}
        scores = {}
        for cid, s in own.items():
            cable, ordinal = place[cid]
            # a narrative runs on: the paragraph after (or before) a strong one often holds the answer
            near = max(para_score.get((cable, ordinal - 1), 0.0), para_score.get((cable, ordinal + 1), 0.0))
            scores[cid] = s + t.cable_weight * cable_score[cable] + t.neighbor_weight * near
            if who:  # a who-question is answered by a paragraph that names people
                n = names_in(texts[cid], question, self.embedder.known_word)
                scores[cid] += t.who_weight * min(n, 3) / 3 / (t.rrf_k + 1)
        return scores, cable_score

    def rank(self, question: str, history: Sequence[str], allowed: list[int] | None
             ) -> dict[int, float]:
        """Chunk id -> score for ``question`` asked after the user turns ``history``."""
        t = self.tuning
        if t.mode == "dense":
            return _rrf([(self.dense(self.embedder.encode_query(question), allowed, t.dense_k), 1.0)], t.rrf_k)
        if t.mode == "keyword":
            return _rrf([(self.keyword(question, allowed, t.keyword_k), 1.0)], t.rrf_k)
        earlier = " ".join(h for h in history if h and h.strip())
        prior: dict[str, float] = {}
        if earlier and t.history_weight > 0:
            _, prior = self._score(earlier, allowed)
        top_prior = sorted(prior, key=lambda c: -prior[c])[: t.expand_cables]
        scores, _ = self._score(question, allowed, extra_cables=top_prior)
        if prior and scores:
            place = self._places(list(scores))
            scale = t.history_weight * max(scores.values()) / max(prior.values())
            for cid in scores:
                scores[cid] += scale * prior.get(place[cid][0], 0.0)
        return scores
