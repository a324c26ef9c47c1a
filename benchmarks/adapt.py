"""Adapting the model to the corpus: what `cableqa adapt` buys in retrieval, and what it costs.

Question: does fine-tuning all-MiniLM-L6-v2 on the corpus's own paragraphs (inverse cloze, same-cable
negatives; ``cableqa.adapt``) rank the answering paragraph higher, and at what price in training time
and query latency?
Baseline: the same corpus indexed with the stock model, measured in the same run.

Both indexes are built beforehand (a build is 7 minutes on the subset, 40 on the full corpus):

    cableqa index ../shared/cables/subset-3000.jsonl.xz --index /work/ix/sub
    cableqa adapt --index /work/ix/sub                      # writes /work/ix/sub-model
    cableqa index ../shared/cables/subset-3000.jsonl.xz --index /work/ix/sub-ad --model /work/ix/sub-model
    python benchmarks/adapt.py --base /work/ix/sub --adapted /work/ix/sub-ad [--out results/adapt-subset.txt]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from _common import DEV, Output, ms, percentile, table

MODES = [("dense only", {"mode": "dense"}), ("keyword only (same in both)", {"mode": "keyword"}),
         ("shipped hybrid", {})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="index built with the stock model")
    parser.add_argument("--adapted", required=True, help="the same corpus indexed with the adapted model")
    parser.add_argument("--questions", default=str(DEV))
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()

    from cableqa.adapt import META
    from cableqa.evaluate import load_questions, score
    from cableqa.retrieval import Tuning
    from cableqa.search import Searcher

    out = Output("adapting the model to the corpus (cableqa adapt), dev questions", args.out)
    questions = load_questions(args.questions)
    results = {}
    for name, path in (("stock", args.base), ("adapted", args.adapted)):
        searcher = Searcher(path)
        searcher.warm()
        info = searcher.info()
        out.print(f"{name}: {path}: {info['cables']} cables, {info['chunks']} chunks, {info['model']} "
                  f"({info['backend']}), FAISS {info['faiss']}")
        meta = Path(info["model"]) / META
        if meta.exists():
            out.print(f"  trained: {json.dumps(json.loads(meta.read_text()))}")
        for mode, changes in MODES:
            searcher.tuning = replace(Tuning(), **changes)
            results[name, mode] = score(questions, lambda q: [h.to_json() for h in searcher.search(
                q["q"], history=q.get("history") or (), k=10).hits])
    rows = []
    for mode, _ in MODES:
        for name in ("stock", "adapted"):
            o = results[name, mode].overall.row()
            base = results["stock", mode].overall.row()
            lat = results[name, mode].latencies
            rows.append([f"{mode}, {name}", f"{o['R@1']:.3f}", f"{o['R@5']:.3f}", f"{o['R@10']:.3f}",
                         f"{o['MRR@10']:.3f}", f"{o['cableR@5']:.3f}",
                         f"{o['R@5'] / base['R@5']:.2f}x" if base["R@5"] else "", ms(percentile(lat, 50)),
                         ms(percentile(lat, 99))])
    out.print("", table(["retrieval, model", "R@1", "R@5", "R@10", "MRR@10", "cableR@5", "R@5 vs stock",
                         "p50 ms", "p99 ms"], rows))
    for name in ("stock", "adapted"):
        out.print("", results[name, "shipped hybrid"].table(f"per question type, shipped hybrid, {name} model:"))
    before = {m["qid"] for m in results["stock", "shipped hybrid"].misses}
    after = {m["qid"] for m in results["adapted", "shipped hybrid"].misses}
    out.print("", f"newly found in the top 5: {' '.join(sorted(before - after)) or '-'}",
              f"newly lost from the top 5: {' '.join(sorted(after - before)) or '-'}")
    out.save()


if __name__ == "__main__":
    main()
