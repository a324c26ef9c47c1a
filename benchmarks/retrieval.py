"""Retrieval quality: an ablation over the dev questions, each step adding one signal.

Question: what does each part of ``cableqa.retrieval`` buy, in Recall@5 / MRR@10 and latency?
Baseline: keyword-only BM25 and dense-only search over the same index, measured in the same run.
Targets (issue 3): Recall@5 >= 0.90 and MRR@10 >= 0.70 on subset-3000 (>= 0.85 / 0.65 on the full
corpus), no question type below 0.70 Recall@5; warm search() p50 <= 50 ms on subset-3000.

Scored as ../shared/eval/README.md says (cableqa.evaluate).  Each step is a ``Tuning`` of the
same index (signals left out: weight 0, see ``cableqa.signals``), so it runs in a minute or two:

    python benchmarks/retrieval.py --index /work/ix/sub [--out benchmarks/results/retrieval-subset.txt]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from _common import DEV, Output, answers, ms, open_searcher, percentile, table

PRIORS = ("history", "beside", "time", "who", "country", "ask", "opening", "sentence")  # added one by one, in this order
STEPS = [  # (label, Tuning changes from the shipped defaults, signals left out)
    ("keyword only: BM25 over paragraph + cable context", {"mode": "keyword"}, ()),
    ("dense only: the model over context + paragraph", {"mode": "dense"}, ()),
    ("fusion: weighted RRF of both (k=10)", {"expand_cables": 0}, PRIORS),
    ("+ every paragraph of the 8 best cables", {}, PRIORS),
    ("+ chat history: earlier turns' cables as prior", {}, PRIORS[1:]),
    ("+ paragraphs beside the earlier answers", {}, PRIORS[2:]),
    ("+ time named in the question", {}, PRIORS[3:]),
    ("+ who-questions favour named people", {}, PRIORS[4:]),
    ("+ country named in the question", {}, PRIORS[5:]),
    ("+ the asking clause after a lead", {}, PRIORS[6:]),
    ("+ a cable's opening paragraph demoted (0.3 of a first place)", {}, PRIORS[7:]),
    ("+ the 20 best reordered by their best sentence (= shipped)", {}, ()),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="/work/ix/sub", help="index directory")
    parser.add_argument("--questions", default=str(DEV))
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()

    from cableqa.evaluate import load_questions, score
    from cableqa.retrieval import Tuning

    out = Output("retrieval ablation (cableqa.retrieval), dev questions", args.out)
    searcher = open_searcher(args.index, out)
    questions = load_questions(args.questions)
    rows, reports = [], []
    for label, changes, left_out in STEPS:
        searcher.tuning = replace(Tuning(), **changes).weighted(**dict.fromkeys(left_out, 0.0))
        report = score(questions, answers(searcher))
        reports.append((label, report))
        o = report.overall.row()
        rows.append([label, f"{o['R@1']:.3f}", f"{o['R@5']:.3f}", f"{o['R@10']:.3f}", f"{o['MRR@10']:.3f}",
                     f"{o['cableR@5']:.3f}", ms(percentile(report.latencies, 50)),
                     ms(percentile(report.latencies, 99))])
    out.print("", table(["step", "R@1", "R@5", "R@10", "MRR@10", "cableR@5", "p50 ms", "p99 ms"], rows))
    base = reports[0][1].overall.row()["R@5"]
    out.print(f"\nshipped R@5 / keyword-only R@5: {reports[-1][1].overall.row()['R@5'] / base:.2f}x")
    out.print("", reports[-1][1].table("per question type, shipped configuration:"))
    misses = reports[-1][1].misses
    out.print("", f"questions whose evidence is not in the top 5 ({len(misses)}):")
    for m in misses:
        out.print(f"  {m['qid']} [{m['type']}] rank={m['rank']} cable_rank={m['cable_rank']}: {m['q'][:100]}")
    out.save()


if __name__ == "__main__":
    main()
