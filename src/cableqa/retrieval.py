"""Ranking chunks for a question: meaning + words, fused, with time, chat history and answer type.

Stage 1 ranks the whole index twice: by embedding similarity (FAISS) and by
BM25 (:mod:`cableqa.keywords`, over the paragraph and its cable context).
Stage 2 pools those candidates with every paragraph of the best cables
(and of those the earlier chat turns point to), ranks the pool exactly both
ways and fuses the ranks (weighted reciprocal-rank fusion).  Then small, generic priors, each
measured on ../shared/eval/dev.jsonl (see benchmarks/retrieval.py):

* time: a question that names a time ("in late August 2004") favours cables
  written then or in the months after;
* chat history: cables the earlier turns retrieve get a share of the score,
  and paragraphs beside their best paragraphs a bonus, which is how "Has the
  new minister ever been linked to graft?" finds the cable asked about before
  (unless the question names something new and points nowhere back);
* place: a question that names a country ("Slovakia's", "Swedish") favours
  cables tagged with it, or sent from a post whose cables usually are;
* the asking clause: a question that first sets the scene ("After officials
  promised stricter review in 1991, what changed in how detainees were
  held?") is also ranked by its asking clause alone, since the answer says
  what is asked and its cable tells the scene elsewhere;
* answer type: a who-question favours paragraphs that name people;
* substance: a paragraph of a few words (a handling caveat, "CONFIDENTIAL -
  ENTIRE TEXT.", a classification reason) rarely answers anything, yet its
  vector is mostly its cable's context, so it scores only a share.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import countries, vectors
from .filters import mentioned_period
from .index import Index
from .store import select_in

EXACT_MAX = 50_000  # filtered subsets up to this many chunks are searched exactly


@dataclass(frozen=True)
class Tuning:
    """Retrieval knobs; bonuses are in shares of a rank-1 fusion score."""

    mode: str = "hybrid"  # hybrid | dense | keyword (the single-signal baselines)
    dense_k: int = 100
    keyword_k: int = 100
    rrf_k: float = 10.0
    w_dense: float = 1.0
    w_keyword: float = 1.0
    kw_text: float = 1.0  # BM25 field weights: paragraph text, cable context
    kw_context: float = 0.5
    date_weight: float = 1.0  # for cables dated when the question says
    country_weight: float = 0.5  # for cables about the country the question names
    who_weight: float = 0.5  # for naming people, on who-questions
    ask_weight: float = 0.5  # the asking clause's own ranking, after a scene-setting lead
    short_words: int = 8  # a paragraph of fewer words than this ...
    short_share: float = 0.5  # ... keeps this share of its score
    expand_cables: int = 8  # every paragraph of this many best cables (and the earlier turns') joins the pool
    history_weight: float = 1.0  # share of the earlier turns' cable scores
    followup_weight: float = 0.5  # for paragraphs beside the earlier turns' best paragraphs
    followup_paras: int = 3  # how many of those count


_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_WORDS = re.compile(r"[A-Za-z]{3,}")
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


def _stems(text: str, words: re.Pattern = _WORDS) -> set[str]:
    """The first five letters, lower case, of each word of ``text``: "Slovakia's", "Slovak" -> "slova"."""
    return {w.lower()[:5] for w in words.findall(text)}


def names_in(text: str, question: str, known: Callable[[str], bool]) -> int:
    """How many distinct names ``text`` holds that ``question`` does not: words the model's
    vocabulary lacks ("Utemuratov", "FJK"), capitalised where the text has lower case."""
    asked = _stems(question)
    mixed = any(c.islower() for c in text)
    return len({w.lower() for w in _WORDS.findall(text)
                if (not mixed or w[0].isupper()) and w.lower()[:5] not in asked and not known(w.lower())})


def asked_clause(question: str) -> str | None:
    """The clause that asks, after a lead that sets the scene: "After X promised Y, what changed?"
    -> "what changed?".  None when there is no such lead, when the lead is itself the question
    ("What reason, given by X, did ...?"), or when it only names a time ("In May 2004, what ..."),
    which the time prior reads."""
    m = _LEAD_ASK.match(question.strip())
    if not m or _ASKS.match(m[1]) or len(_TIME_WORDS.sub(" ", m[1]).replace(",", " ").split()) < 3:
        return None
    return m[2]


def new_topic(question: str, conversation: Callable[[], str]) -> bool:
    """Whether ``question`` leaves the conversation: it points nowhere back and names
    something (a capitalised word after the first) that ``conversation()`` never mentions
    (called only when that decides it: it may read the store)."""
    if _BACK.search(question):
        return False
    names = _stems(question, _NAME)
    return bool(names) and not names & _stems(conversation())


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
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, text: str) -> np.ndarray:
        """The query vector of ``text``, embedded once per Retriever: a search that brings a named
        cable first ranks the same question (and its asking clause) twice."""
        if text not in self._vectors:
            self._vectors[text] = self.embedder.encode_query(text)
        return self._vectors[text]

    # -- single signals ----------------------------------------------------------
    def exact(self, qvec: np.ndarray, ids: list[int]) -> list[int]:
        """``ids`` by cosine similarity, best first, every one scored (vectors from memory)."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids[np.argsort(-(vectors.lookup(self.index.faiss, ids) @ qvec))].tolist()

    def dense(self, qvec: np.ndarray, allowed: list[int] | None, k: int) -> list[int]:
        """Chunk ids by cosine similarity, best first; ``allowed``: only these."""
        if allowed is not None and len(allowed) <= EXACT_MAX:
            return self.exact(qvec, allowed)[:k]
        want = k if allowed is None else max(k * 10, 1000)
        ids = vectors.search(self.index.faiss, qvec, want)[0].tolist()
        if allowed is not None:
            keep = set(allowed)
            ids = [i for i in ids if i in keep]
        return ids[:k]

    def keyword(self, text: str, allowed: list[int] | None, k: int) -> list[int]:
        """Chunk ids by BM25, best first; ``allowed``: only these."""
        t = self.tuning
        return [cid for cid, _ in self.index.keywords.search(text, k, (t.kw_text, t.kw_context), within=allowed)]

    # -- lookups -------------------------------------------------------------------
    def _rows(self, sql: str, ids: list, extra: Sequence = ()) -> list[tuple]:
        return list(select_in(self.index.conn, sql, ids, extra))

    def _places(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Chunk id -> (cable id, paragraph ordinal)."""
        return {r[0]: (r[1], r[2]) for r in self._rows("SELECT id, cable_id, ordinal FROM chunks WHERE id IN "
                                                        "({marks})", ids)}

    def countries(self, cables: list[str]) -> dict[str, set[str]]:
        """Cable id -> its country codes: its geographic tags, and its post's usual one."""
        rows = self._rows("SELECT id, origin, tags FROM cables WHERE id IN ({marks})", cables)
        homes = self.index.homes
        return {cid: set(countries.geographic(json.loads(tags or "[]"))) | {homes.get(origin)}
                for cid, origin, tags in rows}

    # -- fused ---------------------------------------------------------------------
    def _score(self, question: str, allowed: list[int] | None, extra_cables: Sequence[str] = (),
               asking: bool = True) -> tuple[dict[int, float], dict[str, float]]:
        """Chunk scores, and cable scores (their best chunk's fused score) for one question
        (``asking``: rank by its asking clause too; not for the earlier turns run together)."""
        t = self.tuning
        qvec = self.encode(question)
        stage1 = _rrf([(self.dense(qvec, allowed, t.dense_k), t.w_dense),
                       (self.keyword(question, allowed, t.keyword_k), t.w_keyword)], t.rrf_k)
        first: dict[str, float] = {}
        for cid, (cable, _) in self._places(list(stage1)).items():
            first[cable] = max(first.get(cable, 0.0), stage1[cid])
        cables = sorted(first, key=lambda c: -first[c])[: t.expand_cables]
        cables += [c for c in extra_cables if c not in cables]
        pool = set(stage1) | {r[0] for r in self._rows("SELECT id FROM chunks WHERE cable_id IN ({marks})", cables)}
        pool = sorted(pool if allowed is None else pool & set(allowed))  # filters can be finer than a cable
        rankings = [(self.exact(qvec, pool), t.w_dense), (self.keyword(question, pool, len(pool)), t.w_keyword)]
        ask = asked_clause(question) if asking and t.ask_weight else None
        if ask:
            rankings.append((self.exact(self.encode(ask), pool), t.ask_weight))
        scores = _rrf(rankings, t.rrf_k)
        place = self._places(pool)
        best: dict[str, float] = {}
        for cid, s in scores.items():
            best[place[cid][0]] = max(best.get(place[cid][0], 0.0), s)
        unit = 1.0 / (t.rrf_k + 1)
        cables = sorted({c for c, _ in place.values()})
        period = mentioned_period(question) if t.date_weight else None
        if period:  # the question names a time; cables from then (or just after) report it
            dated = {r[0] for r in self._rows("SELECT id FROM cables WHERE id IN ({marks}) AND created >= ? "
                                              "AND created <= ?", cables, (period[0], period[1] + "T99"))}
            for cid in scores:
                if place[cid][0] in dated:
                    scores[cid] += t.date_weight * unit
        named = countries.named_in(question) if t.country_weight else set()
        if named:  # the question names a country; the paragraph rarely does, its cable's tags do
            about = self.countries(cables)
            for cid in scores:
                if about[place[cid][0]] & named:
                    scores[cid] += t.country_weight * unit
        if t.who_weight and _WHO.search(question):  # a who-question is answered by naming people
            texts = dict(self._rows("SELECT id, text FROM chunks WHERE id IN ({marks})", list(scores)))
            for cid in scores:
                named = names_in(texts[cid], question, self.embedder.known_word)
                scores[cid] += t.who_weight * unit * min(named, 3) / 3
        return scores, best

    def _substance(self, scores: dict[int, float]) -> dict[int, float]:
        """``scores`` with paragraphs of only a few words cut to a share (last: after every prior)."""
        t = self.tuning
        if t.short_share < 1 and scores:
            # SQLite sifts by length first: so few words rarely run to 20 characters each
            for cid, text in self._rows("SELECT id, text FROM chunks WHERE id IN ({marks}) AND length(text) < ?",
                                        list(scores), (20 * t.short_words,)):
                if len(text.split()) < t.short_words:
                    scores[cid] *= t.short_share
        return scores

    def rank(self, question: str, history: Sequence[str], allowed: list[int] | None) -> dict[int, float]:
        """Chunk id -> score for ``question`` asked after the user turns ``history``."""
        t = self.tuning
        if t.mode == "dense":
            return _rrf([(self.dense(self.encode(question), allowed, t.dense_k), 1.0)], t.rrf_k)
        if t.mode == "keyword":
            return _rrf([(self.keyword(question, allowed, t.keyword_k), 1.0)], t.rrf_k)
        return self._substance(self._hybrid(question, history, allowed))

    def _hybrid(self, question: str, history: Sequence[str], allowed: list[int] | None) -> dict[int, float]:
        t = self.tuning
        earlier = " ".join(h for h in history if h and h.strip())
        if not earlier or not t.history_weight:
            return self._score(question, allowed)[0]
        before, prior = self._score(earlier, allowed, asking=False)
        prior_cables = sorted(prior, key=lambda c: -prior[c])

        def conversation() -> str:  # the earlier turns and the text of the cable they found best
            texts = self._rows("SELECT text FROM chunks WHERE cable_id IN ({marks})", prior_cables[:1])
            return " ".join([earlier, *(r[0] for r in texts)])

        if new_topic(question, conversation):  # a fresh question: the earlier turns would only mislead
            return self._score(question, allowed)[0]
        scores, _ = self._score(question, allowed, prior_cables[: t.expand_cables])
        if scores and prior:
            answered = sorted(before, key=lambda c: -before[c])[: t.followup_paras]
            place = self._places(list(scores) + answered)
            near = {place[c] for c in answered}
            scale = t.history_weight * max(scores.values()) / max(prior.values())
            for cid in scores:
                cable, ordinal = place[cid]
                scores[cid] += scale * prior.get(cable, 0.0)
                # a follow-up is often answered beside the answer to the question before
                if {(cable, ordinal - 1), (cable, ordinal), (cable, ordinal + 1)} & near:
                    scores[cid] += t.followup_weight / (t.rrf_k + 1)
        return scores
