"""Sentence vectors at build time: what does pooling them from the paragraph's pass cost?

Question: the indexer embeds every chunk with ``Embedder.encode_parts`` (the paragraph vector and
one vector per sentence, pooled from the same pass: ``cableqa.sentences``) instead of
``Embedder.encode``.  How much slower is that, per backend, at the backend's own batch size?
Baseline: ``encode`` on the same real chunk texts (the indexer's inputs), same backend, same run;
rounds interleaved, median reported.  Also: sentence vectors per chunk and the bytes they add.
What they buy in retrieval is ``loo.py`` (the ``sentence`` signal left out) and ``sets.py``.

    python benchmarks/sentences.py [--quick] [--texts 400] [--rounds 3] [--backends torch,bf16]
    LD_PRELOAD=/tmp/avx2_only.so python benchmarks/sentences.py --backends torch  # no AVX-512/bf16
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import _common as c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args = c.rounds_args(ap, texts=400, backends="torch,bf16", quick_texts=40)()

    from cableqa.embed import DEFAULT_MODEL, load_embedder

    out = c.Output("sentence vectors at build time: encode_parts against encode, paragraphs/s (median of "
                   "interleaved rounds)", args.out, args.quick)
    embedders = {b: load_embedder(DEFAULT_MODEL, b, device="cpu", cache_dir=args.onnx_cache)
                 for b in args.backends.split(",")}
    for e in embedders.values():
        e.dim  # loads (and for ONNX exports) before any timing
    texts, spans = c.embed_inputs(c.SUBSET, next(iter(embedders.values())).count_tokens, limit=args.texts)
    out.print(f"{len(texts)} texts, {sum(map(len, spans)) / len(texts):.2f} sentences a text, {args.rounds} rounds", "")
    ways = {"encode": lambda e: e.encode(texts), "encode_parts": lambda e: e.encode_parts(texts, spans)}
    seconds = {(b, w): [] for b in embedders for w in ways}
    kept: dict[str, list[np.ndarray]] = {}
    for _ in range(args.rounds):
        for backend, e in embedders.items():
            e.encode(texts[: 2 * e.batch_size])  # warm
            for way, run in ways.items():
                t = time.perf_counter()
                result = run(e)
                seconds[(backend, way)].append(time.perf_counter() - t)
                if way == "encode_parts":
                    kept[backend] = result[1]
    rows = []
    for backend, e in embedders.items():
        base = statistics.median(seconds[(backend, "encode")])
        for way in ways:
            median = statistics.median(seconds[(backend, way)])
            rows.append([backend, e.batch_size, way, f"{len(texts) / median:.1f}", c.ratio(base, median),
                         " ".join(f"{len(texts) / s:.1f}" for s in seconds[(backend, way)])])
    out.print(c.table(["backend", "batch", "call", "paragraphs/s", "ratio to encode", "each round"], rows), "")
    for backend, parts in kept.items():
        n = sum(len(p) for p in parts)
        out.print(f"{backend}: {n / len(texts):.2f} sentence vectors a chunk ({n} of {sum(map(len, spans))} "
                  f"sentences; the rest fell past the model's window), {n * 384 * 2 / len(texts):.0f} bytes a "
                  f"chunk as float16 beside the chunk vector's {384 * 4}")
    out.save()


if __name__ == "__main__":
    main()
