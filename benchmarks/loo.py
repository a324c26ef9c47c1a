"""Leave one signal out: what each ranking signal gains or loses, question by question, on the question sets.

Question: does each signal of ``cableqa.signals`` earn its place on the questions it was not tuned on
(issue 17)?  Baseline: the shipped signal table, measured in the same run on the same index.  For each
signal in turn its weight is set to 0 (``Tuning().weighted(name=0)``) and every question of the dev tune
half, the dev check half and the validation set is searched again (the sets and their scoring are
``sets.py``'s).  Differences are paired, per question, and read as what the signal *buys*:

* gained: questions whose evidence is in the top 5 with the signal and not without it;
* lost: in the top 5 without the signal and not with it;
* ΔR@1, ΔR@5, ΔMRR@10: shipped minus left out (positive: the signal helps);
* changed: questions whose evidence rank differs at all;
* ΔMRR 95 %: a paired bootstrap interval of ΔMRR@10 (questions resampled, seeded): on 65 questions it
  spans about ±0.045 (docs/retrieval-experiments.md), how large a difference must be before one set shows it.

With more than one set, a ``pooled`` row pairs every question of the sets run (``--sets`` picks them).

A signal that changes nothing on a set measures nothing there; one that loses on the check half or the
validation set (which nobody tuned it on) is a candidate for removal.  ``--per-question`` lists every
changed question (rank with -> without, "-" when not in the top 10).

``--variant SPEC`` (``sets.py``'s ``--tuning`` syntax, repeatable) compares whole variants instead:
the same paired differences, read as what the variant gains over the shipped settings.  ``--against
INDEX`` compares another index of the same cables (another model), searched with the shipped settings.

    python benchmarks/loo.py --index /work/ix/sub-main [--per-question] [--out results/loo-subset.txt]
    python benchmarks/loo.py --index /work/ix/sub-main --variant "dense=0.5,leaders=1000"
    python benchmarks/loo.py --index /work/ix/sub-main --against /work/ix/sub-adapted
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import Output, answers, open_searcher, table
from sets import add_set_arguments, load_sets, tuning


def _rr(rank: int | None, cut: int = 10) -> float:
    return 1.0 / rank if rank and rank <= cut else 0.0


def _in(rank: int | None, cut: int) -> bool:
    return bool(rank) and rank <= cut


def interval(diffs: list[float], draws: int = 2000, seed: int = 17) -> tuple[float, float]:
    """95 % paired-bootstrap interval of the mean of per-question differences (seeded)."""
    d = np.asarray(diffs, dtype=float)
    if not len(d):
        return 0.0, 0.0
    means = d[np.random.default_rng(seed).integers(0, len(d), (draws, len(d)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def compare(shipped: list[dict], without: list[dict]) -> dict:
    """Paired differences between two runs' per-question ranks (same questions, same order)."""
    n = max(len(shipped), 1)
    pairs = list(zip(shipped, without))
    assert all(a["qid"] == b["qid"] for a, b in pairs)
    rr = [_rr(a["rank"]) - _rr(b["rank"]) for a, b in pairs]
    return {
        "gained": [a["qid"] for a, b in pairs if _in(a["rank"], 5) and not _in(b["rank"], 5)],
        "lost": [a["qid"] for a, b in pairs if _in(b["rank"], 5) and not _in(a["rank"], 5)],
        "dR1": sum(_in(a["rank"], 1) - _in(b["rank"], 1) for a, b in pairs) / n,
        "dR5": sum(_in(a["rank"], 5) - _in(b["rank"], 5) for a, b in pairs) / n,
        "dMRR": sum(rr) / n,
        "dMRR_ci": interval(rr),
        "changed": [(a["qid"], a["type"], a["rank"], b["rank"]) for a, b in pairs if a["rank"] != b["rank"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--signals", help="comma-separated signals to leave out (default: every one)")
    parser.add_argument("--variant", action="append", metavar="SPEC",
                        help="compare this variant of the settings instead of leaving signals out (repeatable)")
    parser.add_argument("--against", metavar="INDEX",
                        help="compare this index of the same cables (another model) instead of leaving signals out")
    parser.add_argument("--sets", help="comma-separated sets to run (default: all; a later validation set when its "
                                       "file exists, validation-5 only with --validation5)")
    parser.add_argument("--per-question", action="store_true", help="list every question a signal moves")
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()
    if args.against and (args.variant or args.signals):
        parser.error("--against compares the shipped settings on two indexes; leave out --variant and --signals")

    from cableqa import signals
    from cableqa.evaluate import score
    from cableqa.retrieval import Tuning

    sets = load_sets(args)
    if args.sets:
        sets = {name: sets[name] for name in args.sets.split(",")}
    names = args.signals.split(",") if args.signals else [s.name for s in signals.SIGNALS]
    # each run: (row name, its settings, True when the row reads "it minus shipped", not "shipped minus it")
    variants = bool(args.variant or args.against)
    runs = ([(args.against, Tuning(), True)] if args.against else
            [(spec, tuning(spec), True) for spec in args.variant] if args.variant
            else [(name, Tuning().weighted(**{name: 0.0}), False) for name in names])
    out = Output(f"{'variants' if variants else 'leave one signal out (cableqa.signals)'}: "
                 "paired differences per question set", args.out)
    searcher = open_searcher(args.index, out, note="; shipped signal table:")
    out.print(signals.describe(), "")
    other_index = open_searcher(args.against, out) if args.against else searcher

    def reports(settings: Tuning, on=searcher) -> dict:
        on.tuning = settings
        return {name: score(qs, answers(on)) for name, qs in sets.items()}

    shipped = {}
    for name, report in reports(Tuning()).items():
        out.print(report.table(f"shipped, {name}, per question type:"), "")
        shipped[name] = report.ranks
    rows, moved = [], []
    for name, settings, variant in runs:
        found = reports(settings, other_index)
        if args.against:  # a whole other index: its own per-type tables, as the shipped ones above
            for set_name, report in found.items():
                out.print(report.table(f"{name}, {set_name}, per question type:"), "")
        other = {set_name: report.ranks for set_name, report in found.items()}
        pairs = {set_name: (other[set_name], shipped[set_name]) if variant else (shipped[set_name], other[set_name])
                 for set_name in sets}
        if len(pairs) > 1:
            pairs["pooled"] = tuple(sum((p[i] for p in pairs.values()), []) for i in (0, 1))
        for set_name, pair in pairs.items():
            d = compare(*pair)
            lo, hi = d["dMRR_ci"]
            rows.append([name, set_name, len(pair[0]), len(d["gained"]), len(d["lost"]), f"{d['dR1']:+.3f}",
                         f"{d['dR5']:+.3f}", f"{d['dMRR']:+.3f}", f"{lo:+.3f} .. {hi:+.3f}", len(d["changed"])])
            if set_name != "pooled":
                moved += [f"{name} {set_name} {qid} {kind} " + (f"{b or '-'} -> {a or '-'}" if variant else
                                                               f"{a or '-'} -> {b or '-'}")
                          for qid, kind, a, b in d["changed"]]
            out.print("  " + "  ".join(str(c) for c in rows[-1]))  # as it comes: a long run shows progress
    what = ("what each variant gains (variant minus shipped; gained/lost: in the top 5 only with/without it)"
            if variants else "what each signal buys (shipped minus left out; gained/lost: in the top 5 only "
            "with/without it)")
    head = ["variant" if variants else "signal left out", "set", "n", "gained", "lost", "ΔR@1", "ΔR@5",
            "ΔMRR@10", "ΔMRR 95 %", "changed"]
    out.print("", what + ":", table(head, rows))
    if args.per_question:
        out.print("", "questions moved (row set qid type rank " + ("shipped -> with the variant" if variants
                                                                    else "with -> without the signal") + "):", *moved)
    out.save()


if __name__ == "__main__":
    main()
