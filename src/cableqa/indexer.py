"""Incremental indexing: sources -> cables -> chunks -> vectors -> a new published generation.

Only what changed is embedded: new cables, and cables whose content hash
changed (even then, paragraphs whose embedded text is unchanged keep their
vectors).  An update is built in a ``.partial`` generation and committed in
batches, so an interrupted run resumes where it stopped, and is published
atomically at the end (:class:`cableqa.store.IndexDir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from . import chunks as chunking
from . import sentences, store, vectors
from .cables import Cable, Report, read_paths, source_path
from .embed import Embedder
from .keywords import KeywordIndex
from .prepare import Prepared, default_workers, prepare_for

BATCH_CHUNKS = 2048  # chunks embedded (sorted by length: less padding in bigger batches) and committed together
FIRST_BATCH_CHUNKS = 128


@dataclass
class Stats:
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    rechunked: int = 0
    removed: int = 0
    duplicates: int = 0
    chunks_embedded: int = 0
    chunks_by_workers: int = 0  # of those, embedded by an engine's workers (Ray), not timed here
    chunks_reused: int = 0
    cables: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    published: str | None = None
    problems: list = field(default_factory=list)

    def summary(self) -> str:
        skipped = [p for p in self.problems if p.skipped]
        lines = [f"read {self.read} cables: {self.new} new, {self.changed} changed, {self.unchanged} unchanged"
                 + (f", {self.moved} moved" if self.moved else "")
                 + (f", {self.rechunked} re-chunked" if self.rechunked else "")
                 + (f", {self.removed} removed" if self.removed else "")
                 + (f", {self.duplicates} duplicate ids" if self.duplicates else ""),
                 f"embedded {self.chunks_embedded} chunks" + (f" (reused {self.chunks_reused})"
                                                             if self.chunks_reused else "")
                 + (f" ({self.chunks_by_workers} by the engine's workers, whose time is not in this)"
                    if self.chunks_by_workers else "")
                 + f" in {self.embed_seconds:.1f}s; total {self.seconds:.1f}s",
                 f"index: {self.cables} cables, {self.chunks} chunks"
                 + (f" (published {self.published})" if self.published else " (unchanged)")]
        if skipped:
            reasons: dict[str, int] = {}
            for p in skipped:
                reasons[p.summary_kind] = reasons.get(p.summary_kind, 0) + 1
            lines.append(f"skipped {len(skipped)}: " + "; ".join(f"{n} × {r}" for r, n in sorted(reasons.items())))
        warnings = len(self.problems) - len(skipped)
        if warnings:
            lines.append(f"{warnings} warning(s) above")
        return "\n".join(lines)


def chunk_int_id(key: str, tkey: str) -> int:
    """FAISS id of a chunk: stable for a chunk key and its embedded text (new text, new id)."""
    return int.from_bytes(hashlib.sha1(f"{key}\0{tkey}".encode()).digest()[:8], "big") & ((1 << 63) - 1)


def dedupe(cables: Iterable[Cable], report: Report, stats: Stats) -> dict[str, Cable]:
    """One cable per id: the longest body wins, then the first read; each duplicate is reported."""
    kept: dict[str, Cable] = {}
    for cable in cables:
        stats.read += 1
        other = kept.get(cable.id)
        if other is None:
            kept[cable.id] = cable
            continue
        stats.duplicates += 1
        winner, loser = (cable, other) if len(cable.body) > len(other.body) else (other, cable)
        why = "longer body" if len(winner.body) != len(loser.body) else "read first"
        report.add(loser.source, f"duplicate id {cable.id}; kept {winner.source} ({why})", kind="duplicate id")
        kept[cable.id] = winner
    return kept


def _indexed(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, hash, source FROM cables")}


def _delete(conn: sqlite3.Connection, cable_id: str) -> None:
    ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE cable_id = ?", (cable_id,))]
    conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
    for table, col in (("chunks", "cable_id"), ("paragraphs", "cable_id"), ("refs", "cable_id"), ("cables", "id")):
        conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (cable_id,))


def _insert(conn: sqlite3.Connection, cable: Cable, parsed, rows: list[tuple]) -> None:
    conn.execute("INSERT INTO cables VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 (cable.id, cable.origin, cable.created, cable.classification, json.dumps(list(cable.tags)),
                  cable.subject, json.dumps(list(cable.references)), cable.body, cable.source,
                  cable.content_hash(), parsed.signature, json.dumps(parsed.fields)))
    conn.executemany("INSERT INTO paragraphs VALUES (?,?,?,?,?,?)",
                     [(cable.id, p.ordinal, p.number, p.marking, p.section, p.text) for p in parsed.paragraphs])
    conn.executemany("INSERT INTO refs VALUES (?,?)", [(cable.id, r) for r in cable.references])
    conn.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)", [r[:9] for r in rows])
    conn.executemany("INSERT INTO chunks_fts(rowid, text, context) VALUES (?,?,?)",
                     [(r[0], r[5], r[9]) for r in rows])


def _prunable(indexed: dict[str, tuple[str, str]], incoming: dict[str, Cable], read_files: set[str]) -> list[str]:
    """Indexed cables whose source is gone: the file no longer exists, or was re-read without them."""
    gone = []
    for cid, (_, source) in indexed.items():
        if cid in incoming:
            continue
        path = source_path(source)
        if path in read_files or not os.path.exists(path):
            gone.append(cid)
    return gone


def _open_partial(index_dir: store.IndexDir, base: Path | None, settings: dict,
                  rebuild: bool) -> tuple[Path, bool]:
    """(the .partial generation to write, whether it resumes an interrupted run of the same update)."""
    base_name = base.name if base else ""
    for partial in index_dir.partials():
        meta: dict[str, str] = {}
        if not rebuild and (partial / store.DB).exists():
            try:
                with closing(sqlite3.connect(partial / store.DB)) as conn:
                    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            except sqlite3.DatabaseError:
                meta = {}
        if meta.get("partial_of") == base_name and all(meta.get(k) == v for k, v in settings.items()):
            return partial, True
        shutil.rmtree(partial, ignore_errors=True)
    partial = index_dir.path / (index_dir.next_name() + ".partial")
    partial.mkdir(parents=True)
    if base is not None and not rebuild:
        src = sqlite3.connect(f"file:{base / store.DB}?mode=ro", uri=True)
        dst = sqlite3.connect(partial / store.DB)
        src.backup(dst)
        src.close()
        dst.close()
    with closing(store.connect(partial / store.DB)) as conn:
        store.write_meta(conn, {**settings, "partial_of": base_name})
        conn.commit()
    return partial, False


def run(sources: list[str | Path], index_path: str | Path, make_embedder: Callable[[dict | None], Embedder], *,
        prune: bool = False, rebuild: bool = False, wait: bool = False, report: Report | None = None,
        progress: Callable[[int, int], None] | None = None, window: int | None = None,
        forget: Collection[str] = (), workers: int | None = None,
        preparer: Callable[..., Iterable[Prepared]] = prepare_for) -> Stats:
    """Index ``sources`` into ``index_path``; ``make_embedder(manifest or None)`` builds the embedder.

    With no ``sources`` (and nothing to ``forget``), re-reads the source files recorded in the index
    (useful with ``rebuild``).  ``forget``: source files (resolved paths) whose cables are dropped
    even if the file is still there (a source removed in the web UI).  ``progress(done, total)`` counts cables
    (re-)chunked and embedded.  ``window``: tokens per chunk (default: the
    model's input window, or the index's); changing it, or a new chunker
    version, re-chunks every cable and embeds only the texts that changed.
    """
    t0 = time.perf_counter()
    report = report or Report()
    stats = Stats()
    index_dir = store.IndexDir(index_path)
    with index_dir.lock(wait=wait):
        base = index_dir.current()
        base_meta: dict[str, str] = {}
        if base is not None:
            with closing(store.connect(base / store.DB, readonly=True)) as conn:
                base_meta = store.read_meta(conn)
                if not sources and not forget:
                    sources = sorted({source_path(r[0]) for r in conn.execute("SELECT DISTINCT source FROM cables")})
        embedder = make_embedder(None if rebuild or not base_meta else base_meta)
        if not window and not rebuild and base_meta.get("window"):
            window = int(base_meta["window"])
        settings = {"model": embedder.model, "backend": embedder.backend, "chunker": chunking.VERSION,
                    "window": str(window or "")}
        if base_meta and not rebuild:
            store.require_format(base_meta.get("format_version"), index_dir.path)
            for key in ("model", "backend"):
                if base_meta.get(key) != settings[key]:
                    raise store.IndexError_(
                        f"the index at {index_dir.path} was built with {key} {base_meta.get(key)!r}, not "
                        f"{settings[key]!r}; run `{store.REBUILD_HINT}` to re-embed everything, "
                        f"or drop the {key} option")
        rechunk = bool(base_meta) and not rebuild and any(
            base_meta.get(k, "") != settings[k] for k in ("chunker", "window"))
        incoming = dedupe(read_paths(sources, report), report, stats)
        partial, resumed = _open_partial(index_dir, base, settings, rebuild)
        conn = store.connect(partial / store.DB)
        try:
            budget = min(window, embedder.max_tokens) - 2 if window else None
            _apply(conn, incoming, report, stats, embedder, prune, progress, budget, rechunk and not resumed,
                   set(forget), workers or default_workers(), preparer)
            finished = _finish(conn, partial, base, embedder, settings, stats, resumed or rebuild)
        finally:
            conn.close()
        if finished:
            stats.published = index_dir.publish(partial).name
        else:
            shutil.rmtree(partial, ignore_errors=True)
    stats.problems = report.problems
    stats.seconds = time.perf_counter() - t0
    return stats


def _apply(conn, incoming: dict[str, Cable], report: Report, stats: Stats, embedder: Embedder, prune: bool,
           progress, budget: int | None, rechunk: bool, forget: set[str] = frozenset(), workers: int = 1,
           preparer=prepare_for) -> None:
    indexed = _indexed(conn)
    todo: list[Cable] = []
    for cable in incoming.values():
        old = indexed.get(cable.id)
        if old is None:
            stats.new += 1
            todo.append(cable)
        elif old[0] != cable.content_hash() or rechunk:
            if old[0] != cable.content_hash():
                stats.changed += 1
            else:
                stats.rechunked += 1
            todo.append(cable)
        elif old[1] != cable.source:
            stats.moved += 1
            conn.execute("UPDATE cables SET source = ? WHERE id = ?", (cable.source, cable.id))
        else:
            stats.unchanged += 1
    gone = set(_prunable(indexed, incoming, report.read_files)) if prune else set()
    gone |= {cid for cid, (_, source) in indexed.items() if cid not in incoming and source_path(source) in forget}
    for cid in gone:
        _delete(conn, cid)
        stats.removed += 1
    if rechunk:  # cables from sources not read this time are re-chunked from their stored text
        for cid in sorted(set(indexed) - set(incoming) - gone):
            todo.append(store.cable_from_row(conn.execute("SELECT * FROM cables WHERE id = ?", (cid,)).fetchone()))
            stats.rechunked += 1
    conn.commit()
    if not todo:
        return
    budget = budget or embedder.max_tokens - 2
    embedder.token_counter()  # loads the model before the chunking thread needs its tokenizer

    def batches():
        batch, size, want = [], 0, min(BATCH_CHUNKS, FIRST_BATCH_CHUNKS)  # a small first batch: the model starts soon
        for prep in preparer(todo, budget, embedder, workers):
            if not prep.chunks:  # kept, so it opens by id, but no search can find it: say so
                report.add(f"{prep.cable.source} ({prep.cable.id})", "no paragraph, only header lines; stored but "
                           "not searchable", skipped=False, kind="no paragraph")
            batch.append(prep)
            size += len(prep.chunks)
            if size >= want:
                yield batch
                batch, size, want = [], 0, BATCH_CHUNKS
        if batch:
            yield batch

    done = 0
    with ThreadPoolExecutor(max_workers=1) as pool:  # chunk the next batch while this one is embedded
        it = batches()
        ahead = pool.submit(next, it, None)
        while (batch := ahead.result()) is not None:
            ahead = pool.submit(next, it, None)
            _write_batch(conn, batch, embedder, stats)
            done += len(batch)
            if progress:
                progress(done, len(todo))


def _write_batch(conn, batch: list[Prepared], embedder: Embedder, stats: Stats) -> None:
    """Embed what is new in ``batch`` (reusing the vectors of unchanged texts) and commit it."""
    reuse = {tkey: (vector, sents) for tkey, vector, sents in store.select_in(
        conn, "SELECT text_key, vector, sentences FROM chunks WHERE cable_id IN ({marks})", [p.cable.id for p in batch])}
    rows, pending, given = [], [], 0
    for prep in batch:
        for j, (ch, ctx, tkey) in enumerate(zip(prep.chunks, prep.contexts, prep.keys)):
            rows.append([chunk_int_id(ch.id, tkey), ch.id, prep.cable.id, ch.ordinal, ch.window, ch.text, tkey,
                         *reuse.get(tkey, (None, None)), ctx])
            if rows[-1][7] is None and prep.vectors is not None:  # embedded by the engine's workers
                rows[-1][7:9] = _blobs(prep.vectors[j], prep.sentences[j])
                given += 1
            elif rows[-1][7] is None:
                pending.append((len(rows) - 1, prep.texts[j], prep.spans[j]))
    stats.chunks_reused += len(rows) - len(pending) - given
    stats.chunks_embedded += given
    stats.chunks_by_workers += given
    if pending:
        t = time.perf_counter()
        vecs, parts = embedder.encode_parts([text for _, text, _ in pending], [spans for _, _, spans in pending])
        stats.embed_seconds += time.perf_counter() - t
        stats.chunks_embedded += len(pending)
        for (i, _, _), v, part in zip(pending, vecs, parts):
            rows[i][7:9] = _blobs(v, part)
    by_cable: dict[str, list[tuple]] = {}
    for r in rows:
        by_cable.setdefault(r[2], []).append(tuple(r))
    for prep in batch:
        _delete(conn, prep.cable.id)
        _insert(conn, prep.cable, prep.parsed, by_cable.get(prep.cable.id, []))
    conn.commit()


def _blobs(vector, sentence_vectors) -> list[bytes]:
    """A chunk's vector and sentence vectors as its row stores them."""
    import numpy as np

    return [np.asarray(vector, dtype=np.float32).tobytes(), sentences.pack(sentence_vectors)]


def _sync_keywords(conn, base: Path | None, wanted: list[int]) -> KeywordIndex:
    """The keyword index of the base generation, updated to hold exactly ``wanted`` (only changes tokenized)."""
    try:
        old = KeywordIndex.load(base / store.KEYWORDS) if base is not None else None
    except OSError:  # an older generation without one, or a damaged file: start over
        old = None
    if old is None:
        return KeywordIndex.build(store.keyword_rows(conn))
    stale = set(old.ids.tolist()) - set(wanted)
    return old.updated(stale, store.keyword_rows(conn, sorted(set(wanted) - set(old.ids.tolist()))))


def _finish(conn, partial: Path, base: Path | None, embedder: Embedder, settings: dict, stats: Stats,
            force: bool) -> bool:
    """Write meta, FAISS and manifest into ``partial``; False when there is nothing to publish."""
    changes = stats.new + stats.changed + stats.moved + stats.removed + stats.rechunked
    stats.cables = conn.execute("SELECT COUNT(*) FROM cables").fetchone()[0]
    stats.chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    if not changes and not force and base is not None:
        return False
    dim = embedder.dim
    meta = {"format_version": store.FORMAT_VERSION, **settings, "dim": dim, "weights": embedder.fingerprint,
            "cables": stats.cables,
            "chunks": stats.chunks, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "partial_of": base.name if base else ""}
    index = vectors.load(base / store.VECTORS) if base is not None and (base / store.VECTORS).exists() else None
    wanted = [r[0] for r in conn.execute("SELECT id FROM chunks")]
    index = vectors.sync(index, wanted, lambda ids: store.vectors_of(conn, ids, dim), dim)
    if stats.chunks_embedded > 0.1 * max(stats.chunks, 1):
        conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")
    seal(conn, partial, meta, index, _sync_keywords(conn, base, wanted))
    return True


def seal(conn, partial: Path, meta: dict, index, keywords: KeywordIndex) -> None:
    """Make ``partial`` a publishable generation: ``meta`` (with the FAISS kind) in the store and the
    manifest, the vectors and keyword files beside it (also :func:`cableqa.check.repair`'s last step)."""
    meta["faiss"] = vectors.kind_of(index)
    keywords.save(partial / store.KEYWORDS)
    store.write_meta(conn, meta)
    conn.commit()
    # a published generation is one self-contained file: fold the WAL back in
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    vectors.save(index, partial / store.VECTORS)
    store.write_manifest(partial, {k: str(v) for k, v in meta.items()})
