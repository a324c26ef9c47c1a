"""Keyword retrieval: BM25 over each chunk's text and its cable context, held in memory.

SQLite's FTS5 ranks every matching row of an OR query: a question's common
words match most of the corpus, which took 30-70 ms on 3,000 cables and
grows with the corpus.  :class:`KeywordIndex` keeps term counts as sparse
matrices (``keywords.npz`` in each generation) and scores a question by
summing a few posting lists: a millisecond or two at Cablegate scale.  The
FTS5 table stays for exact phrase matches ("quoted words").

Words (:func:`cableqa.text.words`) are lower-cased, stop words dropped and Snowball-stemmed, for
documents and questions alike.  Score = Σ over fields of
``weight × BM25(field)`` (a per-field BM25, as FTS5's column weights).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .text import stem_words, words

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours yourself yourselves
according did does say said says tell told ask asked one ever whether much many
""".split())
FIELDS = ("text", "context")
FILE = "keywords.npz"
K1, B = 1.2, 0.75


def terms(text: str) -> list[str]:
    """Content words of ``text``, lower-cased, in order, each once ("Kazakhstan's" -> "kazakhstan")."""
    found = words(text.lower().replace("'s ", " ").replace("’s ", " "))
    return list(dict.fromkeys(w for w in found if w not in STOPWORDS and (len(w) > 1 or w.isdigit())))


def tokens(text: str) -> list[str]:
    """Stemmed content words of ``text``, with repeats (what BM25 counts)."""
    return stem_words([w for w in words(text.lower().replace("'s ", " ").replace("’s ", " "))
                       if w not in STOPWORDS and len(w) <= 40])


def fts_phrase_query(phrase: str) -> str:
    """An FTS5 MATCH expression for one exact phrase ("" when it has no words)."""
    found = words(phrase)
    return '"' + " ".join(found) + '"' if found else ""


class KeywordIndex:
    """Term counts per field for a set of chunk ids (sorted), and BM25 scoring over them."""

    def __init__(self, ids: np.ndarray, vocab: list[str], counts: dict):
        from scipy import sparse

        self.ids = np.asarray(ids, dtype=np.int64)
        self.vocab = vocab
        self.col = {t: i for i, t in enumerate(vocab)}
        self.counts = {f: sparse.csr_matrix(counts[f], shape=(len(self.ids), len(vocab)), dtype=np.float32)
                       for f in FIELDS}
        self._weights: dict | None = None
        self._last: tuple | None = None

    # -- building -----------------------------------------------------------
    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, str]]) -> KeywordIndex:
        """From (chunk id, text, context) rows."""
        empty = cls(np.zeros(0, dtype=np.int64), [], {f: np.zeros((0, 0), dtype=np.float32) for f in FIELDS})
        return empty.updated((), rows)

    def updated(self, remove: Iterable[int], add: Iterable[tuple[int, str, str]]) -> KeywordIndex:
        """A new index without the ``remove`` ids and with the ``add`` rows (only those are tokenized)."""
        from scipy import sparse

        remove = np.fromiter(remove, dtype=np.int64)
        keep = ~np.isin(self.ids, remove)
        vocab = list(self.vocab)
        col = dict(self.col)
        new_ids: list[int] = []
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {f: [] for f in FIELDS}
        for cid, *texts in add:
            new_ids.append(cid)
            for field, text in zip(FIELDS, texts):
                words = tokens(text or "")
                for w in words:
                    if w not in col:
                        col[w] = len(vocab)
                        vocab.append(w)
                cols, counts = np.unique(np.fromiter((col[w] for w in words), dtype=np.int32, count=len(words)),
                                         return_counts=True)
                parts[field].append((cols, counts.astype(np.float32)))
        ids = np.concatenate([self.ids[keep], np.array(new_ids, dtype=np.int64)])
        order = np.argsort(ids, kind="stable")
        counts = {}
        for field in FIELDS:
            old = self.counts[field][keep]
            old = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], len(vocab)))
            indptr = np.zeros(len(new_ids) + 1, dtype=np.int64)
            indptr[1:] = np.cumsum([len(c) for c, _ in parts[field]])
            new = sparse.csr_matrix(
                (np.concatenate([v for _, v in parts[field]] or [np.zeros(0, np.float32)]),
                 np.concatenate([c for c, _ in parts[field]] or [np.zeros(0, np.int32)]), indptr),
                shape=(len(new_ids), len(vocab)))
            counts[field] = sparse.vstack([old, new], format="csr")[order]
        return KeywordIndex(ids[order], vocab, counts)

    def save(self, path: Path) -> None:
        arrays = {"ids": self.ids, "vocab": np.array(self.vocab, dtype="U40")}
        for f in FIELDS:
            m = self.counts[f]
            arrays.update({f"{f}_data": m.data, f"{f}_indices": m.indices, f"{f}_indptr": m.indptr})
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        with np.load(path, allow_pickle=False) as z:
            counts = {f: (z[f"{f}_data"], z[f"{f}_indices"], z[f"{f}_indptr"]) for f in FIELDS}
            return cls(z["ids"], z["vocab"].tolist(), counts)

    # -- scoring --------------------------------------------------------------
    def warm(self) -> None:
        """Compute the BM25 weights now rather than on the first question."""
        self._bm25()

    def _bm25(self) -> dict:
        """Per field: BM25 weight of each (chunk, term), term-major (CSC) for fast posting lists."""
        if self._weights is None:
            self._weights = {}
            n = max(len(self.ids), 1)
            # as FTS5: a term's rarity counts chunks holding it in any field
            df = np.diff(sum(self.counts[f] for f in FIELDS).tocsc().indptr)
            idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
            for f in FIELDS:
                m = self.counts[f].tocsc()
                lengths = np.asarray(self.counts[f].sum(axis=1)).ravel()
                norm = K1 * (1 - B + B * lengths / max(lengths.mean(), 1e-9))
                tf = m.data
                rows = m.indices
                cols = np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))
                m.data = (idf[cols] * tf * (K1 + 1) / (tf + norm[rows])).astype(np.float32)
                self._weights[f] = m
        return self._weights

    def scores(self, question: str, weights: Sequence[float]) -> np.ndarray:
        """BM25 score of every chunk (in ``self.ids`` order) for ``question``.

        The last result is kept: a search scores the same question again for
        its second stage.
        """
        key = (question, tuple(weights))
        last = self._last  # one read: another thread may replace it
        if last is not None and last[0] == key:
            return last[1]
        total = np.zeros(len(self.ids), dtype=np.float32)
        cols = [self.col[t] for t in dict.fromkeys(tokens(question)) if t in self.col]
        for field, w in zip(FIELDS, weights):
            m = self._bm25()[field]
            for c in cols:
                lo, hi = m.indptr[c], m.indptr[c + 1]
                total[m.indices[lo:hi]] += w * m.data[lo:hi]
        self._last = (key, total)
        return total

    def search(self, question: str, k: int, weights: Sequence[float], within: Sequence[int] | None = None
               ) -> list[tuple[int, float]]:
        """(chunk id, score) of the ``k`` best matching chunks, best first; ``within``: only these ids."""
        total = self.scores(question, weights)
        if within is not None:
            wanted = np.asarray(within, dtype=np.int64)
            rows = np.searchsorted(self.ids, wanted)
            found = rows < len(self.ids)
            rows, wanted = rows[found], wanted[found]
            rows = rows[self.ids[rows] == wanted]
        else:
            rows = np.flatnonzero(total)
        rows = rows[total[rows] > 0]
        if len(rows) > k:
            rows = rows[np.argpartition(-total[rows], k - 1)[:k]]
        rows = rows[np.argsort(-total[rows], kind="stable")]
        return list(zip(self.ids[rows].tolist(), total[rows].tolist()))
