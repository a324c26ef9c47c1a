"""Verify an index directory and, where cheap, repair it.

Checks the live generation: SQLite integrity, the manifest against the
store, FAISS and keyword ids against chunk ids, the FTS rows, every
chunk's paragraph and cable, and each cable's stored content hash against
its stored record.  ``repair`` rebuilds what derives from the store (FAISS
vectors, the FTS table, the keyword file) into a new generation, published
atomically.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import store, vectors
from .chunks import context
from .indexer import seal
from .keywords import KeywordIndex


@dataclass
class CheckResult:
    generation: str | None
    problems: list[str] = field(default_factory=list)
    repairable: bool = True  # every problem is fixed by rebuilding FAISS/FTS from the store
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def advice(self) -> str:
        if self.ok:
            return "index OK"
        if self.repairable:
            return "repair with `cableqa check --repair` (rebuilds vectors and keyword index from the store)"
        return f"rebuild with `{store.REBUILD_HINT}`"


def check(index_path: str | Path) -> CheckResult:
    index_dir = store.IndexDir(index_path)
    gen = index_dir.current()
    result = CheckResult(generation=gen.name if gen else None)
    if gen is None:
        result.problems.append(f"no live index in {index_dir.path} (CURRENT missing or names no generation)")
        result.repairable = False
        return result
    try:
        conn = store.connect(gen / store.DB, readonly=True)
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        result.problems.append(f"{gen / store.DB} cannot be read: {exc}")
        result.repairable = False
        return result
    with closing(conn):
        if integrity != "ok":
            result.problems.append(f"SQLite integrity check: {integrity}")
            result.repairable = False
        meta = store.read_meta(conn)
        manifest = store.Manifest.from_meta(meta, gen.name)
        if manifest.format_version != store.FORMAT_VERSION:
            result.problems.append(f"format version {manifest.format_version}, expected {store.FORMAT_VERSION}")
            result.repairable = False  # v3's sentence vectors come only from re-embedding
        chunk_ids = np.array(sorted(r[0] for r in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
        n_cables = conn.execute("SELECT COUNT(*) FROM cables").fetchone()[0]
        result.facts = {"cables": n_cables, "chunks": len(chunk_ids), "model": manifest.model,
                        "backend": manifest.backend, "generation": gen.name}
        if (manifest.cables, manifest.chunks) != (n_cables, len(chunk_ids)):
            result.problems.append(f"manifest counts {manifest.cables} cables / {manifest.chunks} chunks, "
                                   f"store holds {n_cables} / {len(chunk_ids)}")
        _check_vectors(gen, chunk_ids, manifest.dim, result)
        try:
            kw_ids = np.sort(KeywordIndex.load(gen / store.KEYWORDS).ids)
            if not np.array_equal(kw_ids, chunk_ids):
                result.problems.append(f"keyword file holds {len(kw_ids)} chunks, the store {len(chunk_ids)}")
        except (OSError, KeyError, ValueError) as exc:
            result.problems.append(f"keyword file cannot be read: {exc}")
        fts_ids = np.array(sorted(r[0] for r in conn.execute("SELECT rowid FROM chunks_fts")), dtype=np.int64)
        if not np.array_equal(fts_ids, chunk_ids):
            result.problems.append(f"keyword index holds {len(fts_ids)} rows for {len(chunk_ids)} chunks")
        orphans = conn.execute(
            "SELECT COUNT(*) FROM chunks c LEFT JOIN paragraphs p ON p.cable_id = c.cable_id AND p.ordinal = c.ordinal "
            "LEFT JOIN cables k ON k.id = c.cable_id WHERE p.cable_id IS NULL OR k.id IS NULL").fetchone()[0]
        if orphans:
            result.problems.append(f"{orphans} chunks without their paragraph or cable")
            result.repairable = False
        bad_hash = [r["id"] for r in conn.execute("SELECT * FROM cables")
                    if store.cable_from_row(r).content_hash() != r["hash"]]
        if bad_hash:
            result.problems.append(f"{len(bad_hash)} cables whose stored record does not match the manifest hash "
                                   f"(e.g. {bad_hash[0]})")
            result.repairable = False
    return result


def _check_vectors(gen: Path, chunk_ids: np.ndarray, dim: int, result: CheckResult) -> None:
    try:
        index = vectors.load(gen / store.VECTORS)
    except Exception as exc:  # missing or unreadable file
        result.problems.append(f"vector file cannot be read: {exc}")
        return
    if index.d != dim:
        result.problems.append(f"vector file has dimension {index.d}, manifest {dim}")
        return
    faiss_ids = np.sort(vectors.ids_of(index))
    if not np.array_equal(faiss_ids, chunk_ids):
        missing = len(np.setdiff1d(chunk_ids, faiss_ids))
        extra = len(np.setdiff1d(faiss_ids, chunk_ids))
        result.problems.append(f"vector ids differ from chunk ids ({missing} missing, {extra} extra)")


def repair(index_path: str | Path) -> str:
    """Rebuild FAISS and FTS of the live generation from its store into a new generation; its name."""
    index_dir = store.IndexDir(index_path)
    with index_dir.lock():
        gen = index_dir.current()
        if gen is None:
            raise store.IndexError_(f"no live index in {index_dir.path}; run `{store.REBUILD_HINT}`")
        partial = index_dir.path / (index_dir.next_name() + ".partial")
        partial.mkdir()
        try:
            with closing(sqlite3.connect(f"file:{gen / store.DB}?mode=ro", uri=True)) as src, \
                    closing(sqlite3.connect(partial / store.DB)) as dst:
                src.backup(dst)
            with closing(store.connect(partial / store.DB)) as conn:
                _rebuild_fts(conn)
                meta = store.read_meta(conn)
                dim = int(meta["dim"])
                ids, vecs = store.vectors_of(conn, None, dim)
                meta.update(cables=conn.execute("SELECT COUNT(*) FROM cables").fetchone()[0], chunks=len(ids),
                            format_version=store.FORMAT_VERSION)
                seal(conn, partial, meta, vectors.build(ids, vecs, dim), KeywordIndex.build(store.keyword_rows(conn)))
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return index_dir.publish(partial).name


def _rebuild_fts(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM chunks_fts")
    cables = {r["id"]: store.cable_from_row(r) for r in conn.execute("SELECT * FROM cables")}
    rows = conn.execute("SELECT c.id, c.cable_id, c.text, p.section FROM chunks c JOIN paragraphs p "
                        "ON p.cable_id = c.cable_id AND p.ordinal = c.ordinal").fetchall()
    conn.executemany("INSERT INTO chunks_fts(rowid, text, context) VALUES (?,?,?)",
                     [(r[0], r[2], context(cables[r[1]], r[3])) for r in rows])
