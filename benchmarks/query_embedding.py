"""Embedding one question: how long each backend takes, and how close its vector is to torch fp32.

Question: which backend should embed the questions asked of an index built with fp32 torch (a CPU
without bf16)?  Baseline: torch fp32, in the same run.  Each dev question (and each follow-up's
earlier turns) is embedded alone, as a search does, on ``--threads`` threads (1: as ``cableqa
serve`` runs on 2 cores), backends interleaved question by question, ``--rounds`` times; the
vector's cosine to torch's says whether an index embedded by torch can be searched with it.
Run it with ``LD_PRELOAD=/tmp/avx2_only.so`` (``avx2_only.c``) to see a CPU without AVX-512/bf16.

    python benchmarks/query_embedding.py [--backends torch,onnx,onnx-int8-mixed] [--threads 1] [--out FILE]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

import _common as c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="torch,onnx,onnx-int8-mixed",
                    help="comma-separated; the first is the baseline")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads of every backend (default 1)")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the questions (default 3)")
    ap.add_argument("--onnx-cache", default=None, help="folder of the ONNX export (default: a new temporary one)")
    ap.add_argument("--quick", action="store_true", help="10 questions, one round: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()

    import torch

    from cableqa.embed import load_embedder
    from cableqa.retrieval import earlier_turns

    torch.set_num_threads(args.threads)
    questions = c.dev_questions(limit=10 if args.quick else None)
    texts = [q["q"] for q in questions] + [earlier_turns(q["history"]) for q in questions if q.get("history")]
    rounds = 1 if args.quick else args.rounds
    cache = args.onnx_cache or tempfile.mkdtemp(prefix="cableqa-query-onnx-")
    names = args.backends.split(",")
    out = c.Output("embedding one question per backend, against torch fp32", args.out, quick=args.quick)
    models = {b: load_embedder(backend=b, device="cpu", cache_dir=cache, threads=args.threads) for b in names}
    for m in models.values():
        m.encode_query("warm up")  # loads (and exports) before timing
    seconds = {b: [] for b in names}
    vectors = {b: [] for b in names}
    for r in range(rounds):
        for text in texts:
            for b in names if r % 2 == 0 else reversed(names):
                t = time.perf_counter()
                v = models[b].encode_query(text)
                seconds[b].append(time.perf_counter() - t)
                if r == 0:
                    vectors[b].append(v)
    base = c.percentile(seconds[names[0]], 50)
    rows = []
    for b in names:
        cos = (np.stack(vectors[b]) * np.stack(vectors[names[0]])).sum(1)
        rows.append([b, c.ms(c.percentile(seconds[b], 50)), c.ms(c.percentile(seconds[b], 90)),
                     c.ms(sum(seconds[b]) / len(seconds[b])), c.ratio(c.percentile(seconds[b], 50), base),
                     f"{cos.mean():.7f}", f"{cos.min():.7f}"])
    out.print(f"{len(texts)} texts (dev questions and follow-ups' earlier turns) x {rounds}, one at a time, "
              f"{args.threads} thread(s)",
              c.table(["backend", "p50 ms", "p90 ms", "mean ms", "p50 ratio", f"cos to {names[0]} mean", "min"],
                      rows))
    out.save()


if __name__ == "__main__":
    main()
