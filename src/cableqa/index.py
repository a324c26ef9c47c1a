"""The read side of an index directory: the live generation, checked and opened.

:class:`Index` holds one published generation (SQLite opened read-only and
immutable, FAISS in memory).  :meth:`Index.stale` tells whether a newer
generation has been published since, so a long-running reader (the web UI)
can switch to it between questions without a restart.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import countries, sentences, store, vectors
from .cables import source_path
from .errors import IndexError_
from .filters import Filters
from .keywords import KeywordIndex


@dataclass(frozen=True)
class CableView:
    """A whole cable as the UI shows it."""

    id: str
    origin: str
    created: str
    classification: str
    tags: tuple[str, ...]
    subject: str
    references: tuple[str, ...]  # referenced ids present in the index
    references_missing: tuple[str, ...]  # referenced ids not in the index
    cited_by: tuple[str, ...]
    fields: dict
    paragraphs: tuple[dict, ...]  # ordinal, para, marking, section, text
    signature: str | None
    source: str


@dataclass(frozen=True)
class ChunkRow:
    """A chunk with its paragraph and cable, as search shows it."""

    id: int
    key: str
    cable_id: str
    ordinal: int
    window: int
    text: str
    para: str | None
    marking: str | None
    section: str | None
    para_text: str
    origin: str
    created: str
    classification: str
    subject: str
    tags: str


def _where(filters: Filters, origins: list[str] | None) -> tuple[str, list]:
    """WHERE clause over the ``cables`` table (alias k) for ``filters``; ``origins``: its origin resolved."""
    where, params = [], []
    if filters.origin:
        where.append(f"k.origin IN ({','.join('?' * len(origins or []))})" if origins else "0")
        params += origins or []
    if filters.date_from:
        where.append("k.created >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        where.append("k.created < ?")
        params.append(filters.date_to + "T99")
    if filters.classification:
        where.append("(k.classification = ? OR k.classification LIKE ?)")
        params += [filters.classification, f"%{filters.classification}%"]
    for tag in filters.tags:
        where.append("EXISTS (SELECT 1 FROM json_each(k.tags) WHERE upper(json_each.value) = ?)")
        params.append(tag)
    if filters.cable_ids:
        where.append(f"k.id IN ({','.join('?' * len(filters.cable_ids))})")
        params += list(filters.cable_ids)
    return " AND ".join(where) or "1", params


class Index:
    def __init__(self, path: str | Path):
        self.dir = store.IndexDir(path)
        gen = self.dir.current()
        if gen is None:
            raise IndexError_(f"no index at {self.dir.path}; build one with `cableqa index SOURCES...`")
        self.generation = gen
        self.conn = store.connect(gen / store.DB, readonly=True)
        try:
            meta = store.read_meta(self.conn)
        except sqlite3.DatabaseError as exc:
            raise IndexError_(f"the index at {gen} is damaged ({exc}); run `{store.REBUILD_HINT}`") from exc
        self.manifest = store.Manifest.from_meta(meta, gen.name)
        store.require_format(self.manifest.format_version, self.dir.path)
        try:
            self.faiss = vectors.load(gen / store.VECTORS)
            vectors.enable_lookup(self.faiss)
        except Exception as exc:  # missing or unreadable file
            raise IndexError_(f"the vector file of {gen} cannot be read ({exc}); "
                              f"run `cableqa check --repair` or `{store.REBUILD_HINT}`") from exc
        try:
            self.keywords = KeywordIndex.load(gen / store.KEYWORDS)
        except (OSError, KeyError, ValueError) as exc:
            raise IndexError_(f"the keyword file of {gen} cannot be read ({exc}); "
                              f"run `cableqa check --repair` or `{store.REBUILD_HINT}`") from exc
        if self.faiss.ntotal != self.manifest.chunks or self.faiss.d != self.manifest.dim:
            raise IndexError_(f"the vector file of {gen} holds {self.faiss.ntotal} vectors of dimension "
                              f"{self.faiss.d}, the store {self.manifest.chunks} of {self.manifest.dim}; "
                              f"run `cableqa check --repair` or `{store.REBUILD_HINT}`")

    def check_model(self, model: str | None, backend: str | None) -> None:
        """Refuse a query model other than the one the vectors were made with."""
        for key, wanted in (("model", model), ("backend", backend)):
            have = getattr(self.manifest, key)
            if wanted is not None and wanted != have:
                raise IndexError_(f"the index at {self.dir.path} was built with {key} {have!r}, not {wanted!r}; "
                                  f"drop the {key} option to use the index's, or run `{store.REBUILD_HINT}` "
                                  f"with --{key} {wanted}")

    def stale(self) -> bool:
        gen = self.dir.current()
        return gen is not None and gen.name != self.generation.name

    def close(self) -> None:
        self.conn.close()

    # -- what search and ranking read (typed: callers never see the schema) ---
    def chunk_rows(self, ids: list[int]) -> dict[int, ChunkRow]:
        """Chunk id -> the chunk with its paragraph and cable, for each of ``ids`` the index holds."""
        return {row["id"]: ChunkRow(*row) for row in store.select_in(
            self.conn, "SELECT c.id, c.key, c.cable_id, c.ordinal, c.window, c.text, "
                       "p.para, p.marking, p.section, p.text AS para_text, "
                       "k.origin, k.created, k.classification, k.subject, k.tags "
                       "FROM chunks c JOIN paragraphs p ON p.cable_id = c.cable_id AND p.ordinal = c.ordinal "
                       "JOIN cables k ON k.id = c.cable_id WHERE c.id IN ({marks})", ids)}

    def origins(self) -> list[str]:
        """Every origin (post) of the index's cables, sorted."""
        return sorted(r[0] for r in self.conn.execute("SELECT DISTINCT origin FROM cables").fetchall() if r[0])

    def cable_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM cables")]

    def newest_cable(self, pattern: str) -> str | None:
        """The last id (by year) of a cable matching the GLOB ``pattern``, if any."""
        rows = self.conn.execute("SELECT id FROM cables WHERE id GLOB ? ORDER BY id DESC", (pattern,)).fetchall()
        return rows[0][0] if rows else None

    def allowed(self, filters: Filters, origins: list[str] | None) -> list[int]:
        """Ids of the chunks whose cables pass ``filters`` (``origins``: its origin resolved)."""
        where, params = _where(filters, origins)
        return [r[0] for r in self.conn.execute(
            f"SELECT c.id FROM chunks c JOIN cables k ON k.id = c.cable_id WHERE {where}", params)]

    def phrase_matches(self, match: str) -> set[int]:
        """Ids of the chunks whose text matches the FTS5 phrase expression ``match``."""
        return {r[0] for r in self.conn.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?",
                                                (f"text : {match}",))}

    def places(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Chunk id -> (cable id, paragraph ordinal)."""
        return {r[0]: (r[1], r[2]) for r in store.select_in(
            self.conn, "SELECT id, cable_id, ordinal FROM chunks WHERE id IN ({marks})", ids)}

    def chunks_of(self, cables: list[str]) -> list[int]:
        """Ids of every chunk of ``cables``."""
        return [r[0] for r in store.select_in(self.conn, "SELECT id FROM chunks WHERE cable_id IN ({marks})", cables)]

    def texts_of(self, cables: list[str]) -> list[str]:
        """The chunk texts of ``cables``."""
        return [r[0] for r in store.select_in(self.conn, "SELECT text FROM chunks WHERE cable_id IN ({marks})",
                                              cables)]

    def texts(self, ids: list[int]) -> dict[int, str]:
        """Chunk id -> its text."""
        return dict(store.select_in(self.conn, "SELECT id, text FROM chunks WHERE id IN ({marks})", ids))


    def dated(self, cables: list[str], period: tuple[str, str]) -> set[str]:
        """Those of ``cables`` written in ``period`` (ISO dates, inclusive)."""
        return {r[0] for r in store.select_in(self.conn, "SELECT id FROM cables WHERE id IN ({marks}) "
                                              "AND created >= ? AND created <= ?", cables,
                                              (period[0], period[1] + "T99"))}

    def whole_paragraphs(self) -> list[tuple[str, str, str]]:
        """(cable id, paragraph text, context) of every paragraph that is one chunk, in chunk order."""
        return self.conn.execute("SELECT c.cable_id, c.text, f.context FROM chunks c JOIN chunks_fts f "
                                 "ON f.rowid = c.id WHERE c.window = 0 ORDER BY c.id").fetchall()

    def vectors(self, ids) -> np.ndarray:
        """The stored vectors of chunk ``ids``, in order (from memory)."""
        return vectors.lookup(self.faiss, ids)

    def sentences(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Chunk id -> its sentence vectors (:mod:`cableqa.sentences`), for ``ids``."""
        return store.sentence_vectors(self.conn, ids, self.manifest.dim)

    def paragraph_sentences(self, cable_id: str, ordinal: int) -> list[tuple[str, np.ndarray]]:
        """(chunk text, its sentence vectors) of each chunk of a paragraph, in window order."""
        rows = self.conn.execute("SELECT text, sentences FROM chunks WHERE cable_id = ? AND ordinal = ? "
                                 "ORDER BY window", (cable_id, ordinal)).fetchall()
        return [(text, sentences.unpack(blob, self.manifest.dim)) for text, blob in rows]

    def nearest(self, qvec: np.ndarray, k: int) -> list[int]:
        """The ``k`` chunk ids nearest ``qvec``, best first (approximate where the FAISS index is)."""
        return vectors.search(self.faiss, qvec, k)[0].tolist()

    @cached_property
    def homes(self) -> dict[str, str]:
        """Post -> the country its cables are most often tagged with ("Embassy Bratislava" -> "LO")."""
        counts: dict[str, Counter] = {}
        for origin, tags in self.conn.execute("SELECT origin, tags FROM cables"):
            counts.setdefault(origin, Counter()).update(countries.geographic(json.loads(tags or "[]")))
        return {origin: c.most_common(1)[0][0] for origin, c in counts.items() if c}

    def has_cable(self, cable_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM cables WHERE id = ?", (cable_id,)).fetchone() is not None

    def cable(self, cable_id: str) -> CableView | None:
        row = self.conn.execute("SELECT * FROM cables WHERE id = ?", (cable_id,)).fetchone()
        if row is None:
            return None
        refs = json.loads(row["refs"] or "[]")
        present = [r for r in refs if self.has_cable(r)]
        cited_by = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT cable_id FROM refs WHERE ref_id = ? ORDER BY cable_id", (cable_id,))]
        paragraphs = tuple(dict(p) for p in self.conn.execute(
            "SELECT ordinal, para, marking, section, text FROM paragraphs WHERE cable_id = ? ORDER BY ordinal",
            (cable_id,)))
        return CableView(id=row["id"], origin=row["origin"], created=row["created"],
                         classification=row["classification"], tags=tuple(json.loads(row["tags"] or "[]")),
                         subject=row["subject"], references=tuple(present),
                         references_missing=tuple(r for r in refs if r not in present), cited_by=tuple(cited_by),
                         fields=json.loads(row["fields"] or "{}"), paragraphs=paragraphs,
                         signature=row["signature"], source=row["source"])

    def sources(self) -> dict[str, int]:
        """Source file -> how many of its cables the index holds."""
        return dict(Counter(source_path(r[0]) for r in self.conn.execute("SELECT source FROM cables")))

    def facets(self, cables: list[str]) -> list[tuple[str, str | None, str | None, tuple[str, ...]]]:
        """(cable id, origin, created, tags) of each of ``cables`` the index holds, once each: what the
        country signal and :mod:`cableqa.glance` read."""
        return [(r[0], r[1], r[2], tuple(json.loads(r[3] or "[]"))) for r in store.select_in(
            self.conn, "SELECT id, origin, created, tags FROM cables WHERE id IN ({marks})",
            list(dict.fromkeys(cables)))]

    def info(self) -> dict:
        m = self.manifest
        return {"cables": m.cables, "chunks": m.chunks, "model": m.model, "backend": m.backend, "dim": m.dim,
                "updated": m.updated, "generation": m.generation, "faiss": m.faiss,
                "format_version": m.format_version, "path": str(self.dir.path)}
