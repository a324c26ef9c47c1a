"""The index directory: SQLite store + FAISS vectors, published atomically as generations.

Layout of an index directory (default ``embeddings/``)::

    CURRENT              name of the live generation, e.g. "g000007" (replaced atomically)
    lock                 held by the one `cableqa index` that may write
    g000007/
        index.sqlite     cables, paragraphs, chunks (+ vectors, sentence vectors), chunks_fts (FTS5), meta (manifest)
        vectors.faiss    FAISS index over the chunk vectors, keyed by chunk id
        keywords.npz     BM25 term counts of each chunk's text and context (cableqa.keywords)
        manifest.json    the manifest again, for people and other tools
    g000008.partial/     a build in progress (resumed if interrupted)
    onnx/                exported ONNX models (the onnx backends)

A published generation is never modified.  Writers build the next one in a
``.partial`` folder and flip ``CURRENT`` with ``os.replace``; readers open
whatever ``CURRENT`` names, so a reader (the running UI) never sees a
half-written index, and a kill -9 at any point leaves the previous one live.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from . import sentences
from .cables import Cable
from .chunks import cable_terms
from .errors import IndexError_

FORMAT_VERSION = 3  # 2: keywords.npz; 3: sentence vectors beside each chunk vector
SQL_VARS = 900  # ids bound per statement: under SQLite's 999-variable limit of older builds
DB, VECTORS, KEYWORDS, MANIFEST = "index.sqlite", "vectors.faiss", "keywords.npz", "manifest.json"
CURRENT, LOCK = "CURRENT", "lock"
REBUILD_HINT = "cableqa index --rebuild SOURCES"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cables (
    id TEXT PRIMARY KEY, origin TEXT, created TEXT, classification TEXT, tags TEXT, subject TEXT,
    refs TEXT, body TEXT, source TEXT, hash TEXT NOT NULL, signature TEXT, fields TEXT);
CREATE INDEX IF NOT EXISTS cables_source ON cables(source);
CREATE TABLE IF NOT EXISTS paragraphs (
    cable_id TEXT NOT NULL, ordinal INTEGER NOT NULL, para TEXT, marking TEXT, section TEXT, text TEXT NOT NULL,
    PRIMARY KEY (cable_id, ordinal)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, cable_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    window INTEGER NOT NULL, text TEXT NOT NULL, text_key TEXT NOT NULL, vector BLOB NOT NULL,
    sentences BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_cable ON chunks(cable_id);
CREATE TABLE IF NOT EXISTS refs (cable_id TEXT NOT NULL, ref_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refs_ref ON refs(ref_id);
CREATE INDEX IF NOT EXISTS refs_cable ON refs(cable_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, context, tokenize='porter unicode61');
"""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    backend: str
    dim: int
    cables: int
    chunks: int
    updated: str
    generation: str
    faiss: str  # index type, e.g. "flat" or "ivf1024"

    @classmethod
    def from_meta(cls, meta: dict[str, str], generation: str) -> Manifest:
        return cls(format_version=int(meta.get("format_version", 0)), model=meta.get("model", ""),
                   backend=meta.get("backend", ""), dim=int(meta.get("dim", 0)), cables=int(meta.get("cables", 0)),
                   chunks=int(meta.get("chunks", 0)), updated=meta.get("updated", ""), generation=generation,
                   faiss=meta.get("faiss", ""))


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # published generations never change: immutable=1 skips locking and journals
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
    conn.row_factory = sqlite3.Row
    return conn


def require_format(version, path) -> None:
    """Refuse an index of another format version (``version`` as the meta table or manifest has it),
    naming the fix: this cableqa reads and writes only :data:`FORMAT_VERSION`."""
    if str(version) != str(FORMAT_VERSION):
        raise IndexError_(f"the index at {path} has format version {version}; this cableqa reads and writes "
                          f"version {FORMAT_VERSION}. Run `{REBUILD_HINT}`")


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}


def write_meta(conn: sqlite3.Connection, values: dict) -> None:
    conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                     [(k, str(v)) for k, v in values.items()])


def cable_from_row(r: sqlite3.Row) -> Cable:
    """The Cable record stored in a ``cables`` row."""
    return Cable(id=r["id"], origin=r["origin"], created=r["created"], classification=r["classification"],
                 tags=tuple(json.loads(r["tags"])), subject=r["subject"], references=tuple(json.loads(r["refs"])),
                 body=r["body"], source=r["source"])


def select_in(conn: sqlite3.Connection, sql: str, ids: Iterable, extra: Sequence = ()) -> Iterator[tuple]:
    """The rows of ``sql`` for ``ids``, bound where ``sql`` says ``IN ({marks})`` (then ``extra``),
    in as many statements as SQLite's variable limit needs."""
    ids = list(ids)
    for start in range(0, len(ids), SQL_VARS):
        part = ids[start:start + SQL_VARS]
        yield from conn.execute(sql.format(marks=",".join("?" * len(part))), [*part, *extra])


def sentence_vectors(conn: sqlite3.Connection, ids: Iterable[int], dim: int) -> dict[int, np.ndarray]:
    """Chunk id -> its sentence vectors (:mod:`cableqa.sentences`), for ``ids``."""
    return {cid: sentences.unpack(blob, dim)
            for cid, blob in select_in(conn, "SELECT id, sentences FROM chunks WHERE id IN ({marks})", list(ids))}


def vectors_of(conn: sqlite3.Connection, ids: Iterable[int] | None = None, dim: int = 0):
    """(ids, vectors) of all chunks, or of ``ids``, read from SQLite into one preallocated array."""
    if ids is None:
        n = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        rows = conn.execute("SELECT id, vector FROM chunks ORDER BY id")
    else:
        ids = list(ids)
        n = len(ids)
        rows = select_in(conn, "SELECT id, vector FROM chunks WHERE id IN ({marks})", ids)
    out_ids = np.empty(n, dtype=np.int64)
    vecs: np.ndarray | None = np.empty((n, dim), dtype=np.float32) if dim else None
    i = 0
    for cid, blob in rows:
        v = np.frombuffer(blob, dtype=np.float32)
        if vecs is None:
            vecs = np.empty((n, len(v)), dtype=np.float32)
        out_ids[i] = cid
        vecs[i] = v
        i += 1
    if vecs is None:
        vecs = np.zeros((0, dim), dtype=np.float32)
    return out_ids[:i], vecs[:i]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexDir:
    """The directory of generations; see the module docstring."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def current(self) -> Path | None:
        try:
            name = (self.path / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        gen = self.path / name
        return gen if name and (gen / DB).exists() else None

    def next_name(self) -> str:
        numbers = [int(p.name[1:7]) for p in self.path.glob("g[0-9][0-9][0-9][0-9][0-9][0-9]*")
                   if p.name[1:7].isdigit()]
        return f"g{max(numbers, default=0) + 1:06d}"

    def partials(self) -> list[Path]:
        return sorted(self.path.glob("g*.partial"))

    @contextmanager
    def lock(self, wait: bool = False):
        """Only one writer at a time; a second one waits (``wait``) or fails with a clear message."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise IndexError_(f"another `cableqa index` is updating {self.path} ({holder}); "
                                  "wait for it to finish, or pass --wait to queue behind it") from None
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
            f.flush()
            try:
                yield
            finally:
                f.seek(0)
                f.truncate()
                fcntl.flock(f, fcntl.LOCK_UN)

    def publish(self, partial: Path) -> Path:
        """Make a finished ``.partial`` generation live (atomic), then drop all but the previous one."""
        final = partial.with_name(partial.name.removesuffix(".partial"))
        for name in (DB, VECTORS, KEYWORDS, MANIFEST):
            with open(partial / name, "rb") as f:
                os.fsync(f.fileno())
        os.replace(partial, final)
        tmp = self.path / (CURRENT + ".tmp")
        previous = self.current()
        with open(tmp, "w") as f:
            f.write(final.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / CURRENT)
        _fsync_dir(self.path)
        keep = {final.name, previous.name if previous else ""}
        for old in self.path.glob("g[0-9]*"):
            if old.is_dir() and not old.name.endswith(".partial") and old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        return final


def keyword_rows(conn: sqlite3.Connection, ids: Iterable[int] | None = None):
    """(chunk id, text, context) rows for the keyword index, from the FTS table."""
    if ids is None:
        yield from conn.execute("SELECT rowid, text, context FROM chunks_fts")
        return
    yield from select_in(conn, "SELECT rowid, text, context FROM chunks_fts WHERE rowid IN ({marks})", ids)


def defined_terms(conn: sqlite3.Connection, cable_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """Cable id -> the acronyms it defines, from its stored subject and chunks: what the indexer
    spelled out when it embedded them (:func:`cableqa.chunks.cable_terms`)."""
    rows = select_in(conn, "SELECT k.cable_id, c.subject, k.text FROM chunks k JOIN cables c ON c.id = k.cable_id "
                           "WHERE k.cable_id IN ({marks}) ORDER BY k.cable_id, k.ordinal, k.window",
                     sorted(set(cable_ids)))  # sorted: each batch, and so each cable's rows, in one run
    terms: dict[str, dict[str, str]] = {}
    for cable_id, group in groupby(rows, key=lambda r: r[0]):
        group = list(group)
        terms[cable_id] = cable_terms(group[0][1], (r[2] for r in group))
    return terms


def write_manifest(gen: Path, meta: dict[str, str]) -> None:
    manifest = {k: meta[k] for k in ("format_version", "model", "backend", "weights", "dim", "cables", "chunks",
                                     "updated", "faiss") if k in meta}
    tmp = gen / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, gen / MANIFEST)
