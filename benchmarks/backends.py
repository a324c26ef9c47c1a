"""Embedding backends on CPU: throughput, agreement with torch fp32, and (optionally) retrieval quality.

Measures: paragraphs/s of each backend (torch, bf16, onnx, onnx-int8: see
``cableqa.embed``) on the same real chunk texts (context + chunk text, from
subset cables in a seeded random order), one after the other in one process;
cosine of each backend's vectors to torch fp32's (mean, min).  With
``--recall INDEX...``: dev Recall@1/5/10 and MRR@10 of indexes built with each
backend (``cableqa eval`` logic), side by side, backend read from each manifest.
Baseline: the torch (fp32) backend, same texts, same run.
Target: a backend at least 2x torch with cosine >= 0.99 and dev Recall@5 within
0.02 of the torch index.

    python benchmarks/backends.py [--quick] [--texts 2000] [--recall IX_TORCH IX_BF16 ...] [--out FILE]

The ONNX export is made once into --onnx-cache (default /tmp/cableqa-bench-onnx)
and reused; its one-time cost shows in the load column of the first run only.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import _common as c


def throughput(args, out: c.Output) -> None:
    from cableqa.embed import BACKENDS, DEFAULT_MODEL, load_embedder

    import sentence_transformers  # noqa: F401 - its import (~7 s, once per process) is no backend's load time

    embedders, load = {}, {}
    for backend in BACKENDS:
        t = time.perf_counter()
        embedders[backend] = load_embedder(args.model or DEFAULT_MODEL, backend, device="cpu", cache_dir=args.onnx_cache)
        embedders[backend].dim  # loads the model (the onnx backends export it first, once per cache folder)
        load[backend] = time.perf_counter() - t
    texts = c.embed_texts(c.SUBSET, embedders["torch"].count_tokens, limit=args.texts)
    words = sum(len(t.split()) for t in texts) / len(texts)
    out.print(f"{len(texts)} texts (mean {words:.0f} words), model {embedders['torch'].model}, "
              f"batch size {embedders['torch'].batch_size}, texts batched by length", "")
    seconds, vecs = {}, {}
    for backend, embedder in embedders.items():
        embedder.encode(texts[::max(1, len(texts) // 64)])  # warm-up over a spread of lengths
        t = time.perf_counter()
        vecs[backend] = embedder.encode(texts)
        seconds[backend] = time.perf_counter() - t
    rows = []
    for backend in BACKENDS:
        cos = np.sum(vecs[backend] * vecs["torch"], axis=1)
        rows.append([backend, f"{load[backend]:.1f}", f"{seconds[backend]:.2f}",
                     f"{len(texts) / seconds[backend]:.1f}", c.ratio(seconds["torch"], seconds[backend]),
                     f"{cos.mean():.4f}", f"{cos.min():.4f}"])
    out.print(c.table(["backend", "load s", "encode s", "paragraphs/s", "ratio to torch", "cos mean", "cos min"],
                      rows))


def recall(args, out: c.Output) -> None:
    from cableqa.evaluate import score
    from cableqa.search import Searcher

    questions = c.dev_questions(limit=args.questions)
    rows = []
    for path in args.recall:
        searcher = Searcher(path)
        report = score(questions, lambda q: [h.to_json() for h in
                                             searcher.search(q["q"], history=q.get("history") or (), k=10).hits])
        r = report.overall.row()
        rows.append([path, searcher.index.manifest.backend, searcher.index.manifest.chunks,
                     f"{r['R@1']:.3f}", f"{r['R@5']:.3f}", f"{r['R@10']:.3f}", f"{r['MRR@10']:.3f}"])
        searcher.index.close()
    base = next((r for r in rows if r[1] == "torch"), rows[0])
    for r in rows:
        r.append(c.ratio(float(r[4]), float(base[4])))
    out.print("", f"dev retrieval, {len(questions)} questions (hybrid search, k=10); ratio: R@5 to the "
                  f"{base[1]} index", c.table(["index", "backend", "chunks", "R@1", "R@5", "R@10", "MRR@10",
                                                "R@5 ratio"], rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=2000, help="chunk texts to embed (default 2000; 0: skip)")
    ap.add_argument("--model", help="model name or local folder (default all-MiniLM-L6-v2)")
    ap.add_argument("--onnx-cache", default="/tmp/cableqa-bench-onnx", help="folder of the ONNX export")
    ap.add_argument("--recall", nargs="+", metavar="INDEX", default=[],
                    help="index folders built with different backends: score the dev questions on each")
    ap.add_argument("--questions", type=int, help="only the first N dev questions")
    ap.add_argument("--quick", action="store_true", help="200 texts, 10 questions: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.texts, args.questions = min(args.texts, 200), 10

    out = c.Output("embedding backends on CPU: throughput and agreement with torch fp32", args.out, args.quick)
    if args.texts:
        throughput(args, out)
    if args.recall:
        recall(args, out)
    out.save()


if __name__ == "__main__":
    main()
