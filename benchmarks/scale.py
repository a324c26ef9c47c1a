"""FAISS index type vs corpus size, on real embeddings grown to Cablegate scale.

Data: the real chunk vectors of an index (default /work/ix/sub, ~26,500
all-MiniLM-L6-v2 vectors read from SQLite with ``cableqa.store.vectors_of``),
then copies of them with Gaussian noise (sigma per dimension, default 0.03,
renormalised: a copy has cosine ~0.86 to its original, about as close as a real
paragraph's nearest real neighbour, median 0.83) up to --max vectors.
Queries: the dev questions embedded with the index's model.

For each size N: flat (exact, ``vectors.build(kind="flat")``), IVF as
``vectors.build`` makes it (nlist ~ 4 sqrt N), searched with the nprobe
``vectors.tune`` sets and with the smallest power of two that reaches
recall@10 0.98, and HNSW (M=32, efConstruction 40, the smallest efSearch of
100, 200, 400, ... that reaches recall@10 0.98):
build time, single-query latency p50/p99 (k=100, --threads threads),
recall@10 against exact search, and index bytes per vector (serialised size / N).
Baseline: flat (exact) search at the same N, same run.
Target: p50 <= 30 ms at the Cablegate size (~3M) with recall@10 >= 0.98.

    python benchmarks/scale.py [--quick] [--max 3000000] [--sizes 30000,100000,...] [--out FILE]

Memory: the vectors (N x 384 x 4 B: 4.6 GB at 3M) stay in memory; each index
adds about one more copy, built and dropped in turn (peak ~11 GB at 3M).
"""

from __future__ import annotations

import argparse
import math
import time
from contextlib import closing
from pathlib import Path

import numpy as np

import _common as c

RECALL_TARGET = 0.98
EF_SEARCH = (100, 200, 400, 800, 1600)  # FAISS searches HNSW with max(efSearch, k): k = 100 is the least


def grown(real: np.ndarray, n: int, sigma: float, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: ``real`` first, then noisy renormalised copies of it, cycling."""
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[:min(n, len(real))] = real[:n]
    rng = np.random.default_rng(seed)
    for start in range(len(real), n, len(real)):
        block = out[start:min(n, start + len(real))]
        block[:] = real[:len(block)] + rng.standard_normal(block.shape, dtype=np.float32) * sigma
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return out


def nbytes(index) -> int:
    import faiss

    size = 0

    def count(chunk: bytes) -> int:
        nonlocal size
        size += len(chunk)
        return len(chunk)

    writer = faiss.PyCallbackIOWriter(count)
    faiss.write_index(index, writer)
    del writer
    return size


def measure(index, queries: np.ndarray, exact: np.ndarray | None, repeat: int) -> tuple[float, float, float]:
    """(p50 s, p99 s, recall@10 against the ``exact`` top-10 ids) of single-query searches, k=100."""
    from cableqa import vectors

    times, found = [], []
    for r in range(repeat):
        for q in queries:
            t = time.perf_counter()
            ids, _ = vectors.search(index, q, 100)
            times.append(time.perf_counter() - t)
            if r == 0:
                found.append(ids[:10])
    recall = 1.0 if exact is None else float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)]))
    return c.percentile(times, 50), c.percentile(times, 99), recall


def smallest(index, set_param, values, queries, exact) -> int:
    """The first of ``values`` whose recall@10 reaches the target (else the last one)."""
    for v in values:
        set_param(v)
        if measure(index, queries, exact, 1)[2] >= RECALL_TARGET:
            return v
    return values[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=c.DEFAULT_INDEX, help="index whose real vectors are grown")
    ap.add_argument("--sizes", default="30000,100000,300000,1000000,3000000", help="vector counts to test")
    ap.add_argument("--max", type=int, default=3_000_000, help="largest size tested (default 3,000,000)")
    ap.add_argument("--sigma", type=float, default=0.03, help="noise per dimension of the copies (default 0.03)")
    ap.add_argument("--threads", type=int, default=2,
                    help="FAISS (OpenMP) threads (default 2; use 1 when another process holds a core)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the queries for latency (default 3)")
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="20k and 50k vectors, one pass: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.max, args.repeat = "20000,50000", 200_000, 1
    sizes = [n for n in map(int, args.sizes.split(",")) if n <= args.max]

    import faiss

    from cableqa import store, vectors
    from cableqa.embed import load_embedder

    out = c.Output(f"FAISS index types vs size, real vectors of {args.index} grown with noise", args.out, args.quick)
    gen = store.IndexDir(args.index).current()
    with closing(store.connect(gen / store.DB, readonly=True)) as conn:
        meta = store.read_meta(conn)
        _, real = store.vectors_of(conn, None, int(meta["dim"]))
    embedder = load_embedder(meta["model"], meta["backend"], cache_dir=args.index / "onnx")
    queries = np.stack([embedder.encode_query(q["q"]) for q in c.dev_questions()])
    faiss.omp_set_num_threads(args.threads)  # after torch ran: both use the same OpenMP runtime
    t = time.perf_counter()
    data = grown(real, max(sizes), args.sigma)
    out.print(f"{len(real)} real vectors (dim {real.shape[1]}), grown to {len(data):,} with sigma {args.sigma} "
              f"in {time.perf_counter() - t:.1f} s; {len(queries)} dev questions as queries x {args.repeat}; "
              f"FAISS {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads; k=100", "")

    rows = []
    for n in sizes:
        x, ids = data[:n], np.arange(n, dtype=np.int64)
        default = vectors.kind_for(n)

        def row(kind: str, param: str, build: float, index, exact) -> None:
            p50, p99, recall = measure(index, queries, exact, args.repeat)
            rows.append([f"{n:,}", kind + (" *" if kind == default else ""), param, f"{build:.1f}", c.ms(p50),
                         c.ms(p99), p50, f"{recall:.3f}", f"{nbytes(index) / n:.0f}"])
            out.print(f"  N={n:,} {kind} {param}: build {build:.1f} s, p50 {c.ms(p50)} ms, recall@10 {recall:.3f}")

        t = time.perf_counter()
        flat = vectors.build(ids, x, x.shape[1], kind="flat")
        built = time.perf_counter() - t
        exact = flat.search(queries, 10)[1]
        row("flat", "exact", built, flat, None)
        del flat

        nlist = int(4 * math.sqrt(n)) // 64 * 64  # as vectors.kind_for above FLAT_MAX
        t = time.perf_counter()
        ivf = vectors.build(ids, x, x.shape[1], kind=f"ivf{nlist}")
        built = time.perf_counter() - t
        library = ivf.nprobe  # vectors.tune's choice
        row(f"ivf{nlist}", f"nprobe={library} (vectors.py)", built, ivf, exact)
        probes = [p for p in (2 ** i for i in range(3, 16)) if p < nlist] + [nlist]
        best = smallest(ivf, lambda p, index=ivf: setattr(index, "nprobe", p), probes, queries, exact)
        if best != library:
            ivf.nprobe = best
            row(f"ivf{nlist}", f"nprobe={best} (smallest >= {RECALL_TARGET})", built, ivf, exact)
        del ivf

        t = time.perf_counter()
        hnsw = faiss.IndexIDMap(faiss.IndexHNSWFlat(x.shape[1], args.hnsw_m, faiss.METRIC_INNER_PRODUCT))
        hnsw.add_with_ids(x, ids)
        built = time.perf_counter() - t
        graph = faiss.downcast_index(hnsw.index).hnsw
        graph.efSearch = smallest(hnsw, lambda ef, g=graph: setattr(g, "efSearch", ef), EF_SEARCH, queries, exact)
        row(f"hnsw{args.hnsw_m}", f"efSearch={graph.efSearch} (smallest >= {RECALL_TARGET})", built, hnsw, exact)
        del hnsw, graph

    flat_p50 = {r[0]: r[6] for r in rows if r[1].startswith("flat")}
    for r in rows:
        r[6] = c.ratio(r[6], flat_p50[r[0]])
    out.print("", "* = the type vectors.py picks at that size (flat up to "
                  f"{vectors.FLAT_MAX:,}, IVF above); rows of one index differ only in the search parameter",
              c.table(["N", "index", "search param", "build s", "p50 ms", "p99 ms", "p50 ratio to flat",
                       "recall@10", "bytes/vector"], rows))
    out.save()


if __name__ == "__main__":
    main()
