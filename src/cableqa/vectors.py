"""The FAISS index over chunk vectors (inner product of normalised vectors = cosine).

The index type follows the size (see ``benchmarks/scale.py`` and ``docs/scaling.md``):

* up to ``FLAT_MAX`` vectors: exact search, ``IndexIDMap2(IndexFlatIP)``;
* beyond: ``IndexIVFFlat`` with about 4·√N lists, searched with ``NPROBE``
  lists; it supports removal, so updates stay incremental.

``benchmarks/scale.py`` (real vectors grown with noise, 30k to 3M): 64 lists
reached recall@10 0.983 to 0.987 against exact search at every size and 32
already 0.985 at 3M, so a fixed 128 keeps a margin above 0.98 while a query
scans only 128 lists (the earlier rule, 1/16 of the lists, scanned 432 at 3M:
30 ms a query instead of ~3 to 8).  Flat search costs 16 ms at 100k and 47 ms
at 300k vectors on 2 cores, hence IVF above ``FLAT_MAX``.

Vectors are also kept in SQLite, so the FAISS file can always be rebuilt
from the store (``cableqa check --repair``).  Queries read the vectors they
re-score from the FAISS index in memory (:func:`lookup`), not from SQLite.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

FLAT_MAX = 60_000
NPROBE = 128  # IVF lists searched per query


def kind_for(n: int) -> str:
    if n <= FLAT_MAX:
        return "flat"
    return f"ivf{int(4 * math.sqrt(n)) // 64 * 64}"


def build(ids: np.ndarray, vecs: np.ndarray, dim: int, kind: str | None = None):
    import faiss

    kind = kind or kind_for(len(ids))
    if kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    else:
        nlist = int(kind[3:])
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vecs[rng.choice(len(vecs), size=min(len(vecs), nlist * 64), replace=False)]
        index.train(sample)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), ids)
    tune(index)
    return index


def tune(index) -> None:
    if hasattr(index, "nprobe"):
        index.nprobe = min(NPROBE, index.nlist)


def kind_of(index) -> str:
    return f"ivf{index.nlist}" if hasattr(index, "nlist") else "flat"


def ids_of(index) -> np.ndarray:
    import faiss

    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    invlists = index.invlists
    out = [faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
           for i in range(index.nlist) if invlists.list_size(i)]
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)


def _fits(index, n: int) -> bool:
    """Whether ``index`` still suits ``n`` vectors: same family, and IVF lists within 2x of ideal."""
    kind = kind_for(n)
    if kind == "flat" or kind_of(index) == "flat":
        return kind == kind_of(index)
    return index.nlist / 2 <= int(kind[3:]) <= index.nlist * 2


def sync(index, wanted_ids: np.ndarray, fetch, dim: int):
    """Bring ``index`` to hold exactly ``wanted_ids``; ``fetch(ids)`` gives (ids, vectors) from the store.

    Incremental (remove stale, add missing) while the index type still fits
    the size; rebuilt from the store when it does not (or there is none).
    """
    import faiss

    wanted = np.asarray(wanted_ids, dtype=np.int64)
    if index is None or not _fits(index, len(wanted)):
        ids, vecs = fetch(None)
        return build(ids, vecs, dim)
    have = ids_of(index)
    stale = np.setdiff1d(have, wanted, assume_unique=True)
    missing = np.setdiff1d(wanted, have, assume_unique=True)
    if len(stale):
        index.remove_ids(faiss.IDSelectorBatch(stale))
    if len(missing):
        ids, vecs = fetch(missing.tolist())
        index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), ids)
    return index


def save(index, path: Path) -> None:
    import faiss

    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, path)


def load(path: Path):
    import faiss

    index = faiss.read_index(str(path))
    tune(index)
    return index


def enable_lookup(index) -> None:
    """Let :func:`lookup` read vectors from ``index`` (IVF lists need an id -> place map; a search-side
    index only: removals from it then need an id array)."""
    if hasattr(index, "nlist"):
        import faiss

        index.set_direct_map_type(faiss.DirectMap.Hashtable)


def lookup(index, ids) -> np.ndarray:
    """The vectors of ``ids`` (all in ``index``), from memory: the pool a query re-scores exactly."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_batch(ids)


def search(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, cosine scores), best first; fewer than ``k`` when the index is small."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]
