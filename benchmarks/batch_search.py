"""Batch search: how much embedding a batch's questions together saves (``cableqa search --jsonl``).

Question: per question, how long does ``cableqa search --jsonl`` take on a warm index, and what does
embedding each block of questions in one model pass (``Searcher.embed_ahead``, ``--batch``) save
against embedding them one at a time as a chat does?  Issue 19's target: <= 50 ms a question on
subset-3000 on a CPU without bf16 (run this with ``LD_PRELOAD=/tmp/avx2_only.so`` on an index built
with ``--backend torch`` to see that path on a CPU that has more).

1. In process, same searcher, interleaved rounds: the dev questions searched one at a time (the
   baseline: each question, asking clause and earlier turns embedded as the search needs them), and
   in blocks embedded ahead.  Also Recall@5 / MRR@10 of both: the vectors are the same up to
   padding in the batch, so the rankings should be too.
2. The command itself: ``cableqa search --jsonl`` over the questions repeated ``--repeat`` times,
   against one question, with ``--batch 1`` and the default ``--batch``; the difference over the
   extra questions is the per-question cost without the start-up.

    python benchmarks/batch_search.py /work/ix/sub-t19 [--repeat 3] [--rounds 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c


def in_process(args, questions: list[dict], out: c.Output) -> None:
    from cableqa.evaluate import score

    searcher = c.open_searcher(args.index, out)
    top10 = c.answers(searcher)

    def one_at_a_time() -> list[list[dict]]:
        searcher.embed_ahead([])  # nothing ahead
        return [top10(q) for q in questions]

    def ahead() -> list[list[dict]]:
        hits = []
        for start in range(0, len(questions), args.batch):
            block = questions[start:start + args.batch]
            searcher.embed_ahead((q["q"], q.get("history") or ()) for q in block)
            hits += [top10(q) for q in block]
        return hits

    runs = {"one at a time (baseline)": one_at_a_time, f"blocks of {args.batch} embedded ahead": ahead}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    results = {}
    one_at_a_time()  # untimed: the index's pages warm, as in a server that has answered before
    for _ in range(args.rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            results[name] = run()
            seconds[name].append(time.perf_counter() - started)
    base = c.percentile(seconds["one at a time (baseline)"], 50) / len(questions)
    rows = []
    for name in runs:
        per = c.percentile(seconds[name], 50) / len(questions)
        found = {q["qid"]: hits for q, hits in zip(questions, results[name])}
        o = score(questions[: args.distinct], lambda q, found=found: found[q["qid"]]).overall.row()
        rows.append([name, c.ms(per), c.ratio(per, base), f"{o['R@5']:.3f}", f"{o['MRR@10']:.3f}"])
    out.print(f"in process, {len(questions)} searches a round, median of {args.rounds} interleaved rounds "
              f"(quality over the {args.distinct} distinct questions):",
              c.table(["searches", "ms / question", "ratio", "R@5", "MRR@10"], rows), "")


def command(args, questions: list[dict], out: c.Output) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cableqa-batch-"))
    many = c.write_jsonl([json.dumps(q) for q in questions], tmp / "many.jsonl")
    one = c.write_jsonl([json.dumps(questions[0])], tmp / "one.jsonl")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def wall(path: Path, batch: int) -> float:
        started = time.perf_counter()
        with path.open() as stdin:
            subprocess.run([sys.executable, "-m", "cableqa.cli", "search", "--jsonl", "--index", str(args.index),
                            "--batch", str(batch)], stdin=stdin, stdout=subprocess.DEVNULL, env=env, check=True)
        return time.perf_counter() - started

    rows, base = [], None
    for batch in (1, args.batch):
        n_wall, one_wall = wall(many, batch), wall(one, batch)
        per = (n_wall - one_wall) / (len(questions) - 1)
        base = base or per
        rows.append([f"--batch {batch}", f"{n_wall:.1f}", f"{one_wall:.1f}", c.ms(per), c.ratio(per, base)])
    out.print(f"`cableqa search --jsonl`, {len(questions)} questions against 1 (a subprocess each):",
              c.table(["run", f"{len(questions)} questions s", "1 question s", "ms / extra question", "ratio"],
                      rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index", nargs="?", type=Path, default=c.DEFAULT_INDEX)
    ap.add_argument("--repeat", type=int, default=3, help="passes over the dev questions (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved in-process rounds (default 3)")
    ap.add_argument("--batch", type=int, default=64, help="questions embedded together (default 64)")
    ap.add_argument("--quick", action="store_true", help="10 questions, one round: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()

    distinct = c.dev_questions(limit=10 if args.quick else None)
    args.distinct = len(distinct)
    if args.quick:
        args.repeat, args.rounds = 1, 1
    questions = [{**q, "qid": f"{q['qid']}#{r}"} if r else q for r in range(args.repeat) for q in distinct]
    out = c.Output("batch search: questions embedded together vs one at a time", args.out, quick=args.quick)
    in_process(args, questions, out)
    command(args, questions, out)
    out.save()


if __name__ == "__main__":
    main()
