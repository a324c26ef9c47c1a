"""The chat's one-sentence answer: how often it quotes the evidence, and what it costs on a plain CPU.

Question: the chat quotes one sentence of the top 3 paragraphs (``render.pick_answer``), chosen by
embedding every candidate sentence after its cable's subject.  On a CPU without bf16 that model
pass takes ten times the search itself.  Does letting the stored sentence vectors (``Searcher.
sentence_scores``, no model pass) shortlist the 5 sentences the model re-reads keep the choice?
Baseline: every sentence embedded (``scored=None``), on the same searches, same run, alternating.
"Quotes the evidence": the sentence holds the question's evidence, or the evidence holds it
(normalised as ``cableqa.evaluate``); a rough measure, the same for both ways.

    python benchmarks/answer.py --index /work/ix/sub-t19 [--out benchmarks/results/answer.txt]
    LD_PRELOAD=/tmp/avx2_only.so python benchmarks/answer.py --index /work/ix/sub-t19  # no AVX-512/bf16
"""

from __future__ import annotations

import argparse
import time

import _common as c
from sets import VALIDATION


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(c.DEFAULT_INDEX), help="index directory")
    ap.add_argument("--threads", type=int, default=1, help="model threads (default 1, as `cableqa serve` on 2 cores)")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()

    import torch

    from cableqa import render
    from cableqa.evaluate import read_jsonl
    from cableqa.text import normalise

    torch.set_num_threads(args.threads)
    out = c.Output("the chat's answer sentence: every sentence embedded against a shortlist of "
                   f"{render.SHORTLIST} by the stored sentence vectors", args.out)
    searcher = c.open_searcher(args.index, out, threads=args.threads)
    out.print(f"questions and sentences embedded by {searcher.embedder.backend} on {args.threads} thread(s)")
    ways = {"every sentence embedded (baseline)": lambda r: None,
            f"shortlist of {render.SHORTLIST} (shipped)": lambda r: (lambda h: searcher.sentence_scores(h, r.vector))}
    rows = []
    for name, path in (("dev", c.DEV), ("validation", VALIDATION)):
        questions = read_jsonl(path)
        quoted = dict.fromkeys(ways, 0)
        seconds: dict[str, list[float]] = {w: [] for w in ways}
        same = 0
        for q in questions:
            result = searcher.search(q["q"], history=q.get("history") or (), k=10)
            evidence = normalise(q["evidence"])
            picks = {}
            for way, scored in ways.items():
                t = time.perf_counter()
                picks[way] = render.pick_answer(result.question, result.hits, searcher.embedder.encode,
                                                scored=scored(result))
                seconds[way].append(time.perf_counter() - t)
                sentence = normalise(picks[way].sentence) if picks[way] else ""
                quoted[way] += bool(sentence) and (evidence in sentence or sentence in evidence)
            first, second = (p.sentence if p else None for p in picks.values())
            same += first == second
        base = c.percentile(seconds[next(iter(ways))], 50)
        for way in ways:
            p50 = c.percentile(seconds[way], 50)
            rows.append([name, way, f"{quoted[way]}/{len(questions)}", c.ms(p50),
                         c.ms(c.percentile(seconds[way], 99)), c.ratio(p50, base)])
        rows.append([name, "  the same sentence both ways", f"{same}/{len(questions)}", "", "", ""])
    out.print("", c.table(["questions", "answer sentence", "quotes the evidence", "p50 ms", "p99 ms",
                           "p50 ratio to baseline"], rows))
    out.save()


if __name__ == "__main__":
    main()
