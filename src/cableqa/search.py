"""Hybrid retrieval: the one ``search()`` that the CLI, batch mode and web UI all call.

For a question (plus the earlier turns of a chat) it

1. reads the question once (:class:`cableqa.query.Query`): the filters it
   states (resolved here: fuzzy origin, quoted phrases), the cables it names;
2. ranks chunks by the signals of :mod:`cableqa.signals` (meaning, keywords,
   cable context, the earlier turns of a chat, a cable the question names, ...)
   through :mod:`cableqa.retrieval`;
3. collapses windows into paragraphs, and a paragraph that other cables
   repeat word for word (a newsletter sent twice, a standard line) into one
   hit that cites them too, and returns cited :class:`Hit`\\ s.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import sentences
from .embed import Embedder, load_embedder, query_backend
from .errors import EmbedError
from .filters import Filters, match_origins
from .index import Index
from .keywords import fts_phrase_query
from .query import Query
from .retrieval import Retriever, Tuning
from .text import citation, post_of, words

DISPLAY_MAX_WORDS = 400  # a longer paragraph is shown by its best window


@dataclass(frozen=True)
class Hit:
    cable_id: str
    para: str | None
    ordinal: int
    marking: str | None
    section: str | None
    text: str
    score: float
    origin: str
    created: str
    classification: str
    subject: str
    chunk: str
    also: tuple[tuple[str, int, str], ...] = ()  # (cable id, ordinal, citation) of lower-ranked same-word paragraphs

    @property
    def citation(self) -> str:
        return citation(self.cable_id, self.para, self.ordinal, self.marking)

    def about(self) -> list[str]:
        """What a citation line gives after the citation: origin, date, classification, subject (those known)."""
        return [p for p in (self.origin, self.created[:10], self.classification, self.subject) if p]

    def citation_line(self) -> str:
        line = " · ".join([self.citation, *self.about()])
        return line + (f" (same words also in {', '.join(c for _, _, c in self.also)})" if self.also else "")

    def to_json(self) -> dict:
        d = asdict(self)
        d["para"] = self.para if self.para else f"[{self.ordinal}]"
        d["score"] = round(float(self.score), 6)
        d["citation"] = self.citation
        d["also"] = [c for _, _, c in self.also]
        return d


@dataclass
class Result:
    question: str
    hits: list[Hit]
    filters: Filters  # the filters applied (flags merged with those parsed from the question)
    parsed: Filters  # what was read from the question itself
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    understood: str = ""  # what was read from the question, in one line (Query.describe)
    vector: np.ndarray | None = None  # the question's vector, if the search embedded it (Searcher.sentence_scores)

    def to_json(self) -> dict:
        return {"question": self.question, "filters": self.filters.describe(), "understood": self.understood,
                "notes": self.notes, "hits": [h.to_json() for h in self.hits]}


def _collapse_repeats(hits: list[Hit]) -> list[Hit]:
    """``hits`` (best first) with each paragraph that repeats an earlier one's words (case, spacing and
    punctuation aside) folded into that earlier hit, which cites it in ``also``."""
    kept: dict[str, Hit] = {}
    for hit in hits:
        key = " ".join(words(hit.text))
        first = kept.get(key)
        if first is None:
            kept[key] = hit
        else:
            kept[key] = replace(first, also=(*first.also, (hit.cable_id, hit.ordinal, hit.citation)))
    return list(kept.values())


class Searcher:
    def __init__(self, index_path: str | Path, model: str | None = None, backend: str | None = None,
                 device: str = "auto", tuning: Tuning | None = None, embedder: Embedder | None = None,
                 query_backend: str = "auto", threads: int | None = None):
        """``embedder``: what embeds the questions (default: the index's model on
        :func:`cableqa.embed.query_backend`, from ``query_backend``; ``threads``: its CPU threads)."""
        self.path = Path(index_path)
        self.index = Index(self.path)
        self.index.check_model(model, backend)
        self.device = device
        self.tuning = tuning or Tuning()
        self._embedder = embedder
        self._query_backend, self._threads = query_backend, threads
        self._ahead: dict[str, np.ndarray] = {}  # query vectors embedded ahead for a batch (embed_ahead)
        self._load_lookups()

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embedder, self.tuning, self._ahead)

    def embed_ahead(self, asked: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Embed what the searches of a batch of (question, history) will need in one model pass,
        batched by length, instead of one question at a time; replaces the previous batch's."""
        retriever = Retriever(self.index, self.embedder, self.tuning)
        retriever.encode_all([t for question, history in asked
                              for t in retriever.needs(Query.parse(question, self.posts), history)])
        self._ahead = retriever.known

    # -- index lifecycle -------------------------------------------------------
    def _load_lookups(self) -> None:
        self.origins = self.index.origins()
        self.posts = {post for i in self.index.cable_ids() if (post := post_of(i)) is not None}

    def refresh(self) -> bool:
        """Switch to a newer published index, if any; True when it switched."""
        if not self.index.stale():
            return False
        fresh = Index(self.path)
        old, self.index = self.index, fresh
        if (old.manifest.model, old.manifest.backend) != (fresh.manifest.model, fresh.manifest.backend):
            self._embedder = None  # rebuilt with another model: its questions need that model too
        old.close()
        self._ahead = {}
        self._load_lookups()
        return True

    @property
    def question_backend(self) -> str:
        """The backend that embeds this index's questions (:func:`cableqa.embed.query_backend`)."""
        return query_backend(self.index.manifest.backend, self.device, self._query_backend)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            m = self.index.manifest
            backend = self.question_backend
            self._embedder = self._load(m.model, backend)
            if backend != m.backend:  # load it now (an ONNX export the first time), so a failure can fall back
                try:
                    self._embedder.encode_query("warm up")
                except (EmbedError, OSError, ImportError, RuntimeError) as exc:
                    print(f"cableqa: questions are embedded with {m.backend}: the {backend} query model did not "
                          f"load ({exc})", file=sys.stderr, flush=True)
                    self._embedder = self._load(m.model, m.backend)
        return self._embedder

    @embedder.setter
    def embedder(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def _load(self, model: str, backend: str) -> Embedder:
        return load_embedder(model, backend, device=self.device, cache_dir=self.path / "onnx", threads=self._threads)

    def info(self) -> dict:
        return self.index.info()

    def warm(self) -> None:
        """Load the embedding model and compute the keyword weights and posts' countries before the first question."""
        self.embedder.encode_query("warm up")
        self.index.keywords.warm()
        _ = self.index.homes  # computed once per index generation

    # -- retrieval -------------------------------------------------------------
    def _allowed(self, filters: Filters, notes: list[str]) -> list[int] | None:
        """Chunk ids the filters allow (None: no filter); empty with a note when nothing matches."""
        if not filters:
            return None
        origins = None
        if filters.origin:
            origins = match_origins(filters.origin, self.origins)
            if not origins:
                notes.append(f"No cables from an origin like {filters.origin!r} in this index.")
                return []
            if len(origins) <= 3:
                notes.append("Origin: " + ", ".join(origins))
        ids = self.index.allowed(filters, origins)
        if not ids:
            notes.append(f"No cables match the filters ({filters.describe()}).")
        return ids

    def _with_phrases(self, query: Query, allowed: list[int] | None, notes: list[str]) -> list[int] | None:
        """Narrow ``allowed`` to paragraphs holding every "quoted phrase" of the question word for word."""
        for phrase in query.phrases:
            match = fts_phrase_query(phrase)
            if not match:
                continue
            found = self.index.phrase_matches(match)
            allowed = sorted(found if allowed is None else found.intersection(allowed))
            if not allowed:
                notes.append(f"No paragraph contains the exact words “{phrase}”.")
                return []
            notes.append(f"Only paragraphs with the exact words “{phrase}”.")
        return allowed

    def _hits(self, scores: dict[int, float], k: int) -> list[Hit]:
        """Best chunks -> paragraphs (windows collapse into their paragraph), best first."""
        ordered = sorted(scores, key=lambda i: -scores[i])[: max(k * 4, 50)]
        rows = self.index.chunk_rows(ordered)
        seen: set[tuple[str, int]] = set()
        hits: list[Hit] = []
        for cid in ordered:
            row = rows.get(cid)
            if row is None:
                continue
            key = (row.cable_id, row.ordinal)
            if key in seen:
                continue
            seen.add(key)
            text = row.para_text if len(row.para_text.split()) <= DISPLAY_MAX_WORDS else row.text
            hits.append(Hit(cable_id=row.cable_id, para=row.para, ordinal=row.ordinal, marking=row.marking,
                            section=row.section, text=text, score=scores[cid], origin=row.origin,
                            created=row.created, classification=row.classification, subject=row.subject,
                            chunk=row.key))
        return _collapse_repeats(hits)[:k]

    def sentence_scores(self, hit: Hit, qvec: np.ndarray) -> list[tuple[int, int, float]]:
        """(start, end, cosine with ``qvec``) of each sentence of ``hit.text`` that has a stored
        vector (:func:`cableqa.sentences.placed`): no model pass."""
        windows = self.index.paragraph_sentences(hit.cable_id, hit.ordinal)
        return [(a, b, float(v @ qvec)) for a, b, v in sentences.placed(hit.text, windows)]

    def _resolve_ids(self, mentioned: Sequence[str]) -> list[str]:
        out = []
        for ident in mentioned:
            if ident.startswith("*"):
                newest = self.index.newest_cable(f"[0-9][0-9]{ident[1:]}")
                out += [newest] if newest else []
            elif self.index.has_cable(ident):
                out.append(ident)
        return list(dict.fromkeys(out))

    def search(self, question: str, history: Sequence[str] = (), filters: Filters | None = None,
               k: int = 10) -> Result:
        """The ``k`` paragraphs that best answer ``question`` (given earlier turns ``history``)."""
        started = time.perf_counter()
        query = Query.parse(question, self.posts)
        applied = query.filters.merged(filters or Filters())
        result = Result(question=query.text, hits=[], filters=applied, parsed=query.filters,
                        understood=query.describe())
        if not query.has_words:
            result.notes.append("Ask a question in words, e.g. “What did the embassy report about the elections?”")
            return result
        if query.filters:
            result.notes.append(f"Filters from your question: {query.filters.describe()}")
        allowed = self._with_phrases(query, self._allowed(applied, result.notes), result.notes)
        if allowed == []:
            result.seconds = time.perf_counter() - started
            return result
        named = self._resolve_ids(query.cables)
        if named:
            result.notes.append("Cable named in the question shown first: " + ", ".join(named))
        retriever = self.retriever
        result.hits = self._hits(retriever.rank(query, history, allowed, named), k)
        result.vector = retriever.encoded(query.text)  # the ranking's, if it made one (keyword-only does not)
        if not result.hits:
            result.notes.append("No paragraph matched. Try other words, or fewer filters.")
        result.seconds = time.perf_counter() - started
        return result
