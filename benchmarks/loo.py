"""Leave one signal out: what each ranking signal gains or loses, question by question, on three sets.

Question: does each signal of ``cableqa.signals`` earn its place on the questions it was not tuned on
(issue 17)?  Baseline: the shipped signal table, measured in the same run on the same index.  For each
signal in turn its weight is set to 0 (``Tuning().weighted(name=0)``) and every question of the dev tune
half, the dev check half and the validation set is searched again (the sets and their scoring are
``sets.py``'s).  Differences are paired, per question, and read as what the signal *buys*:

* gained: questions whose evidence is in the top 5 with the signal and not without it;
* lost: in the top 5 without the signal and not with it;
* ΔR@1, ΔR@5, ΔMRR@10: shipped minus left out (positive: the signal helps);
* changed: questions whose evidence rank differs at all.

A signal that changes nothing on a set measures nothing there; one that loses on the check half or the
validation set (which nobody tuned it on) is a candidate for removal.  ``--per-question`` lists every
changed question (rank with -> without, "-" when not in the top 10).

    python benchmarks/loo.py --index /work/ix/sub-main [--per-question] [--out results/loo-subset.txt]
"""

from __future__ import annotations

import argparse

from _common import Output, answers, open_searcher, table
from sets import add_set_arguments, load_sets


def _rr(rank: int | None, cut: int = 10) -> float:
    return 1.0 / rank if rank and rank <= cut else 0.0


def _in(rank: int | None, cut: int) -> bool:
    return bool(rank) and rank <= cut


def compare(shipped: list[dict], without: list[dict]) -> dict:
    """Paired differences between two runs' per-question ranks (same questions, same order)."""
    n = max(len(shipped), 1)
    pairs = list(zip(shipped, without))
    assert all(a["qid"] == b["qid"] for a, b in pairs)
    return {
        "gained": [a["qid"] for a, b in pairs if _in(a["rank"], 5) and not _in(b["rank"], 5)],
        "lost": [a["qid"] for a, b in pairs if _in(b["rank"], 5) and not _in(a["rank"], 5)],
        "dR1": sum(_in(a["rank"], 1) - _in(b["rank"], 1) for a, b in pairs) / n,
        "dR5": sum(_in(a["rank"], 5) - _in(b["rank"], 5) for a, b in pairs) / n,
        "dMRR": sum(_rr(a["rank"]) - _rr(b["rank"]) for a, b in pairs) / n,
        "changed": [(a["qid"], a["type"], a["rank"], b["rank"]) for a, b in pairs if a["rank"] != b["rank"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--signals", help="comma-separated signals to leave out (default: every one)")
    parser.add_argument("--sets", help="comma-separated sets to run (default: dev-tune,dev-check,validation)")
    parser.add_argument("--per-question", action="store_true", help="list every question a signal moves")
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()

    from cableqa import signals
    from cableqa.evaluate import score
    from cableqa.retrieval import Tuning

    sets = load_sets(args)
    if args.sets:
        sets = {name: sets[name] for name in args.sets.split(",")}
    names = args.signals.split(",") if args.signals else [s.name for s in signals.SIGNALS]
    out = Output("leave one signal out (cableqa.signals): paired differences on tune, check, validation", args.out)
    searcher = open_searcher(args.index, out, note="; shipped signal table:")
    out.print(signals.describe(), "")

    def reports(tuning: Tuning) -> dict:
        searcher.tuning = tuning
        return {name: score(qs, answers(searcher)) for name, qs in sets.items()}

    shipped = {}
    for name, report in reports(Tuning()).items():
        out.print(report.table(f"shipped, {name}, per question type:"), "")
        shipped[name] = report.ranks
    rows, moved = [], []
    for name in names:
        without = {set_name: report.ranks for set_name, report in reports(Tuning().weighted(**{name: 0.0})).items()}
        for set_name in sets:
            d = compare(shipped[set_name], without[set_name])
            rows.append([name, set_name, len(shipped[set_name]), len(d["gained"]), len(d["lost"]),
                         f"{d['dR1']:+.3f}", f"{d['dR5']:+.3f}", f"{d['dMRR']:+.3f}", len(d["changed"])])
            moved += [f"{name} {set_name} {qid} {kind} {a or '-'} -> {b or '-'}" for qid, kind, a, b in d["changed"]]
            out.print("  " + "  ".join(str(c) for c in rows[-1]))  # as it comes: a long run shows progress
    out.print("", "what each signal buys (shipped minus left out; gained/lost: in the top 5 only with/without it):",
              table(["signal left out", "set", "n", "gained", "lost", "ΔR@1", "ΔR@5", "ΔMRR@10", "changed"], rows))
    if args.per_question:
        out.print("", "questions a signal moves (signal set qid type rank-with -> rank-without):", *moved)
    out.save()


if __name__ == "__main__":
    main()
