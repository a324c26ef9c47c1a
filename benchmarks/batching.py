"""Batch size per embedding backend on CPU: which size embeds paragraphs fastest?

Question: is 32 texts a model call (every backend's size before) the best size for each CPU
backend, or does one run faster in smaller or larger batches?  ``cableqa.embed.batch_size_for``
takes its CPU sizes from this table.  Each (backend, batch size) embeds the same real chunk
texts through ``Embedder.encode`` (texts sorted by length, as the indexer does); the rounds are
interleaved (every configuration once per round) and the table gives the median, so that a
slow minute of a shared host does not fall on one configuration only.
Baseline: torch fp32 at batch size 32, same texts, same run.

    python benchmarks/batching.py [--quick] [--texts 600] [--rounds 3] [--backends torch,bf16] [--sizes 4,8,16,32]
    LD_PRELOAD=/tmp/avx2_only.so python benchmarks/batching.py --backends torch,onnx-int8-mixed  # no AVX-512/bf16
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import _common as c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parse = c.rounds_args(ap, texts=600, backends="torch,bf16,onnx-int8-mixed", quick_texts=60)
    ap.add_argument("--sizes", default="4,8,16,32,64", help="comma-separated batch sizes")
    args = parse()

    from cableqa.embed import DEFAULT_MODEL, batch_size_for, load_embedder

    out = c.Output("embedding batch size per backend on CPU: paragraphs/s, median of interleaved rounds",
                   args.out, args.quick)
    backends = args.backends.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    embedders = {b: load_embedder(DEFAULT_MODEL, b, device="cpu", cache_dir=args.onnx_cache) for b in backends}
    for e in embedders.values():
        e.dim  # loads (and for ONNX exports) before any timing
    counter = next(iter(embedders.values())).count_tokens
    texts = c.embed_texts(c.SUBSET, counter, limit=args.texts)
    tokens = np.mean([min(256, counter(t) + 2) for t in texts])
    out.print(f"{len(texts)} texts (mean {tokens:.0f} tokens with the two special ones, window 256), "
              f"{args.rounds} rounds", "")
    configs = [(b, s) for b in backends for s in sizes]
    seconds: dict[tuple[str, int], list[float]] = {k: [] for k in configs}
    for _ in range(args.rounds):
        for backend, size in configs:
            e = embedders[backend]
            e.batch_size = size
            e.encode(texts[::max(1, len(texts) // size // 2)][:2 * size])  # warm this batch shape
            t = time.perf_counter()
            e.encode(texts)
            seconds[(backend, size)].append(time.perf_counter() - t)
    base = statistics.median(seconds[("torch", 32)]) if ("torch", 32) in seconds else None
    rows = []
    for (backend, size), runs in seconds.items():
        median = statistics.median(runs)
        rows.append([backend, size, "yes" if size == batch_size_for(backend, "cpu") else "",
                     f"{len(texts) / median:.1f}", c.ratio(base, median) if base else "-",
                     " ".join(f"{len(texts) / s:.1f}" for s in runs)])
    out.print(c.table(["backend", "batch", "default", "paragraphs/s", "ratio to torch/32", "each round"], rows))
    out.save()


if __name__ == "__main__":
    main()
