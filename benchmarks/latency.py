"""Query latency: warm ``Searcher.search()`` per stage, and ``cableqa serve`` start-up and memory.

Measures, on an existing index:

1. warm ``Searcher.search()`` (hybrid, k=10) over the dev questions with their
   chat history, repeated R times: p50/p99, and the time per stage (query
   embedding, FAISS, BM25, stage 2, paragraph rows) from timing wrappers;
2. ``cableqa serve`` in a subprocess: start until the page answers HTTP 200,
   one question through gradio_client, then N more, and the server's peak RSS
   (VmHWM).

Baseline: a dense-only FAISS search (k=100) of the same questions' vectors, same run.
Targets: search p50 <= 30 ms, p99 <= 100 ms; serve ready (HTTP 200) <= 10 s.
Torch threads as ``cableqa serve`` sets them (all cores but one), unless --threads.

    python benchmarks/latency.py [INDEX] [--quick] [--repeat 3] [--serve-questions 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import _common as c

READY_TARGET, P50_TARGET, P99_TARGET = 10.0, 0.030, 0.100


def in_process(args, questions: list[dict], out: c.Output) -> float:
    """Warm search latency and its stages; returns the search p50 (seconds)."""
    import faiss
    import torch

    from cableqa import signals, vectors
    from cableqa.retrieval import Retriever
    from cableqa.search import Searcher

    torch.set_num_threads(args.threads)
    embedder = None
    if args.query_backend:  # the same model on another backend embeds the questions (it loads on first use)
        import json

        from cableqa import store
        from cableqa.embed import load_embedder

        manifest = json.loads((store.IndexDir(args.index).current() / store.MANIFEST).read_text())
        embedder = load_embedder(manifest["model"], args.query_backend, device="cpu")
    t0 = time.perf_counter()
    searcher = Searcher(args.index, embedder=embedder)
    t1 = time.perf_counter()
    searcher.embedder.encode_query("warm up")
    t2 = time.perf_counter()
    searcher.search("What did the embassy report about the elections?", k=10)  # BM25 weights are made lazily
    t3 = time.perf_counter()
    info = searcher.info()
    out.print(f"index {args.index}: {info['cables']} cables, {info['chunks']} chunks, FAISS {info['faiss']}, "
              f"backend {info['backend']}, questions embedded by {searcher.embedder.backend}; torch threads {torch.get_num_threads()}, FAISS (OpenMP) threads "
              f"{faiss.omp_get_max_threads()}",
              f"cold start in process: open index {t1 - t0:.2f} s, model load {t2 - t1:.2f} s, "
              f"first search {t3 - t2:.2f} s", "")

    qvecs = [searcher.embedder.encode_query(q["q"]) for q in questions]
    faiss_times = []
    for _ in range(args.repeat):
        for v in qvecs:
            t = time.perf_counter()
            vectors.search(searcher.index.faiss, v, 100)
            faiss_times.append(time.perf_counter() - t)

    sw = c.Stopwatch()
    per_q: list[dict[str, float]] = []
    # Retriever.rank is stages 1-2: the query vectors (question, asking clause, earlier turns: one pass),
    # FAISS and BM25 (stage 1), then the pool's exact vectors and the signals fused (stage 2). The stopwatch's
    # times are exclusive, so what is left of rank is pool and place lookups
    with sw.patched(type(searcher.embedder), "encode", "embed"), \
            sw.patched(type(searcher.embedder), "encode_query", "embed"), sw.patched(Retriever, "dense", "dense"), \
            sw.patched(Retriever, "keyword", "bm25"), sw.patched(Retriever, "exact", "exact"), \
            sw.patched(signals, "fuse", "fuse"), sw.patched(Retriever, "sentences", "sentences"), \
            sw.patched(Retriever, "rank", "rank"), sw.patched(Searcher, "_hits", "rows"):
        for _ in range(args.repeat):
            for q in questions:
                sw.reset()
                t = time.perf_counter()
                searcher.search(q["q"], history=q.get("history") or (), k=10)
                total = time.perf_counter() - t
                per_q.append({"query embedding (question, asking clause, earlier turns)": sw["embed"],
                              "dense, k=100 (FAISS; exact within filters)": sw["dense"],
                              "BM25 keyword, k=100": sw["bm25"],
                              "exact vectors (the pool; the asking clause's ranking)": sw["exact"],
                              "stage 2: signals and fusion (signals.fuse, the rest)": sw["fuse"],
                              "stage 2: the leaders' sentence vectors read (SQLite)": sw["sentences"],
                              "pool and place lookups (rest of Retriever.rank)": sw["rank"],
                              "paragraph rows (Searcher._hits)": sw["rows"],
                              "other (question analysis, filters, phrases)": total - sum(sw.seconds.values()),
                              "total": total})
    searcher.index.close()

    totals = [p["total"] for p in per_q]
    base = c.percentile(faiss_times, 50)
    p50, p99 = c.percentile(totals, 50), c.percentile(totals, 99)
    with_history = sum(bool(q.get("history")) for q in questions)
    out.print(f"{len(questions)} dev questions ({with_history} with chat history) x {args.repeat}",
              c.table(["measure", "p50 ms", "p99 ms", "mean ms", "p50 ratio to FAISS"], [
                  ["FAISS dense-only search, k=100 (baseline)", c.ms(base), c.ms(c.percentile(faiss_times, 99)),
                   c.ms(sum(faiss_times) / len(faiss_times)), "1.00x"],
                  ["Searcher.search(), warm, hybrid, k=10", c.ms(p50), c.ms(p99), c.ms(sum(totals) / len(totals)),
                   c.ratio(p50, base)]]),
              f"targets p50 <= {P50_TARGET * 1000:.0f} ms: {'PASS' if p50 <= P50_TARGET else 'FAIL'}; "
              f"p99 <= {P99_TARGET * 1000:.0f} ms: {'PASS' if p99 <= P99_TARGET else 'FAIL'}", "",
              "per stage (a question with history runs stages 1-2 twice):")
    mean_total = sum(totals) / len(totals)
    rows = []
    for stage in per_q[0]:
        values = [p[stage] for p in per_q]
        mean = sum(values) / len(values)
        rows.append([stage, c.ms(c.percentile(values, 50)), c.ms(c.percentile(values, 99)), c.ms(mean),
                     f"{100 * mean / mean_total:.0f}%"])
    out.print(c.table(["stage", "p50 ms", "p99 ms", "mean ms", "share of mean"], rows), "")
    return p50


def serve(args, questions: list[dict], search_p50: float, out: c.Output) -> None:
    """Start `cableqa serve`, time it to HTTP 200 and to answers, read its peak RSS."""
    import tempfile as tempfile_module

    from gradio_client import Client

    with tempfile.TemporaryDirectory(prefix="cableqa-serve-") as tmp:
        tempfile_module.tempdir = tmp  # gradio_client downloads through the temp folder: keep it in ours
        env = {**os.environ, "GRADIO_TEMP_DIR": str(Path(tmp) / "gradio"),
               "PYTHONPATH": os.pathsep.join([str(c.ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        t0 = time.perf_counter()
        proc, url = c.start_serve(["--index", str(args.index)], Path(tmp), env, timeout=600)
        try:
            ready = time.perf_counter() - t0
            client = Client(url, verbose=False, download_files=tmp)
            t1 = time.perf_counter()
            ask = lambda q: client.predict(q["q"], [], "", "", "", "any", "", api_name="/ask")  # noqa: E731
            ask(questions[0])
            t2 = time.perf_counter()
            times = []
            for q in questions[1:args.serve_questions + 1]:
                t = time.perf_counter()
                ask(q)
                times.append(time.perf_counter() - t)
            peak, rss = c.vm_kib(proc.pid, "VmHWM"), c.vm_kib(proc.pid, "VmRSS")
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    http_p50 = c.percentile(times, 50)
    out.print(f"cableqa serve (subprocess, {url}); questions through gradio_client /ask, fresh chat each",
              c.table(["measure", "seconds", "target", "ratio to target"], [
                  ["start -> page answers HTTP 200", f"{ready:.2f}", f"{READY_TARGET:.0f}",
                   c.ratio(ready, READY_TARGET)],
                  ["gradio_client connect", f"{t1 - t0 - ready:.2f}", "", ""],
                  ["first question (model warm-up may still run)", f"{t2 - t1:.2f}", "", ""],
                  ["start -> first answer", f"{t2 - t0:.2f}", "", ""]]),
              f"serve ready <= {READY_TARGET:.0f} s: {'PASS' if ready <= READY_TARGET else 'FAIL'}",
              f"{len(times)} more questions over HTTP: p50 {c.ms(http_p50)} ms, p99 {c.ms(c.percentile(times, 99))} ms "
              f"({c.ratio(http_p50, search_p50)} the in-process search p50; includes the extractive answer and "
              f"Gradio's queue)",
              f"server memory after {len(times) + 1} questions: peak RSS (VmHWM) {peak / 1024:.0f} MiB, "
              f"RSS now {rss / 1024:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", nargs="?", type=Path, default=c.DEFAULT_INDEX)
    ap.add_argument("--repeat", type=int, default=3, help="passes over the questions (default 3)")
    ap.add_argument("--questions", type=int, help="only the first N dev questions")
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 1) - 1),
                    help="torch threads (default: all cores but one, as `cableqa serve`)")
    ap.add_argument("--serve-questions", type=int, default=20, help="questions asked through the server (0: no serve)")
    ap.add_argument("--query-backend", help="embed the questions with this backend instead of the index's (same "
                    "model): torch under LD_PRELOAD=/tmp/avx2_only.so times a CPU without bf16 on a bf16-built index")
    ap.add_argument("--quick", action="store_true", help="10 questions once, 3 through the server: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.questions, args.serve_questions = 1, 10, min(args.serve_questions, 3)

    out = c.Output("query latency: Searcher.search() stages, cableqa serve start-up and memory", args.out, args.quick)
    questions = c.dev_questions(limit=args.questions)
    p50 = in_process(args, questions, out)
    if args.serve_questions:
        serve(args, questions, p50, out)
    out.save()


if __name__ == "__main__":
    main()
