"""Retrieval quality on the question sets: the dev tune half, the dev check half, the validation sets.

Question: does the default search score as well on questions nobody tuned it on as on the ones
they did (issue 17)?  Baseline: the dev tune half, measured in the same run.  The dev questions
(``../shared/eval/dev.jsonl``) are split once into a tune and a check half (``dev_split.json``,
stratified by type, seeded); the validation sets (``validation.jsonl``, ``validation2.jsonl``,
``validation3.jsonl``, ``validation4.jsonl``, each frozen; see their ``.md``) come from random
cables that are no dev question's answer.

Scored as ../shared/eval/README.md says (``cableqa.evaluate``).  ``--per-question`` adds one line
per question (set, qid, type, rank of the answering paragraph, rank of its cable; "-" when not in
the top 10), in a fixed order, so that the outputs of two runs compare line by line with ``diff``:

    python benchmarks/sets.py --index /work/ix/sub-main [--per-question] [--out results/sets-subset.txt]
    python benchmarks/sets.py --write-split    # how dev_split.json was made; it is frozen, do not rerun
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from _common import DEV, Output, answers, ms, open_searcher, percentile, table

HERE = Path(__file__).resolve().parent
VALIDATION = HERE / "validation.jsonl"
VALIDATION2 = HERE / "validation2.jsonl"  # a second frozen set, written later (validation2.md)
VALIDATION3 = HERE / "validation3.jsonl"  # a third (validation3.md)
VALIDATION4 = HERE / "validation4.jsonl"  # a fourth (validation4.md)
VALIDATION5 = HERE / "validation5.jsonl"  # reserved for the next registered test: read only when named
SPLIT = HERE / "dev_split.json"
SPLIT_SEED = 17  # issue 17
SETS = ("dev-tune", "dev-check", "validation", "validation-2", "validation-3", "validation-4", "validation-5")


def split_dev(questions: list[dict], seed: int = SPLIT_SEED) -> dict[str, str]:
    """qid -> "tune" or "check": within each type a seeded shuffle dealt alternately into the two
    halves, the alternation running on across types so that odd-sized types even out overall."""
    by_type: dict[str, list[str]] = {}
    for q in questions:
        by_type.setdefault(q["type"], []).append(q["qid"])
    halves: dict[str, str] = {}
    turn = 0
    for kind in sorted(by_type):
        qids = sorted(by_type[kind])
        random.Random(f"{seed}:{kind}").shuffle(qids)
        for qid in qids:
            halves[qid] = ("tune", "check")[turn % 2]
            turn += 1
    return dict(sorted(halves.items()))


def question_sets(dev: list[dict], split: dict[str, str], validation: list[dict],
                  *later: list[dict]) -> dict[str, list[dict]]:
    """The sets by name: the dev halves, validation, and the ``later`` validation sets given
    (validation-2 to -5; an empty one is left out); a dev question the split does not
    place raises ValueError naming it."""
    missing = [q["qid"] for q in dev if split.get(q["qid"]) not in ("tune", "check")]
    if missing:
        raise ValueError(f"{SPLIT.name} places no half for {', '.join(missing[:5])}: the dev set changed?")
    return {"dev-tune": [q for q in dev if split[q["qid"]] == "tune"],
            "dev-check": [q for q in dev if split[q["qid"]] == "check"],
            "validation": validation,
            **{f"validation-{n}": list(qs) for n, qs in enumerate(later, start=2) if qs}}


def add_set_arguments(parser: argparse.ArgumentParser) -> None:
    """--index and the question sets' files (shared with loo.py)."""
    parser.add_argument("--index", default="/work/ix/sub", help="index directory")
    parser.add_argument("--dev", default=str(DEV), help="dev questions (JSON Lines)")
    parser.add_argument("--validation", default=str(VALIDATION), help="validation questions (JSON Lines)")
    for n, path in ((2, VALIDATION2), (3, VALIDATION3), (4, VALIDATION4)):
        parser.add_argument(f"--validation{n}", default=str(path),
                            help=f"validation set {n} (JSON Lines; skipped when the file is missing)")
    parser.add_argument("--validation5", default="", metavar="JSONL",
                        help=f"the reserved fifth set, only when named: {VALIDATION5.relative_to(HERE.parent)} "
                             "(validation5.md: its first use is a registered test)")
    parser.add_argument("--split", default=str(SPLIT), help="dev qid -> tune/check (JSON)")
    parser.add_argument("--tuning", default="", metavar="SPEC",
                        help='search settings other than the defaults, e.g. "dense=0.5,leaders=1000" '
                             "(signal weights by name, or a field of cableqa.retrieval.Tuning)")


def tuning(spec: str):
    """A ``Tuning`` from "name=value,..." (signal weights or Tuning fields); "" is the default one."""
    from dataclasses import fields, replace

    from cableqa import signals
    from cableqa.retrieval import Tuning

    weights, knobs = {}, {}
    kinds = {f.name: f.type for f in fields(Tuning)}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        if name in signals.WEIGHTS:
            weights[name] = float(value)
        elif name in kinds and name != "weights":
            knobs[name] = int(value) if kinds[name] == "int" else float(value) if kinds[name] == "float" else value
        else:
            raise SystemExit(f"--tuning: no signal or setting {name!r}")
    return replace(Tuning(), **knobs).weighted(**weights)


def load_sets(args: argparse.Namespace, dev: list[dict] | None = None) -> dict[str, list[dict]]:
    """The question sets named by ``add_set_arguments``'s options (``dev``: already loaded)."""
    from cableqa.evaluate import load_questions

    dev = load_questions(args.dev) if dev is None else dev
    later = [load_questions(p) if p and Path(p).exists() else []
             for p in (args.validation2, args.validation3, args.validation4, args.validation5)]
    return question_sets(dev, json.loads(Path(args.split).read_text()), load_questions(args.validation), *later)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(parser)
    parser.add_argument("--per-question", action="store_true", help="also list each question's answer rank")
    parser.add_argument("--write-split", action="store_true", help=f"write --split from --dev (seed {SPLIT_SEED})")
    parser.add_argument("--out", help="also write the output to this file")
    args = parser.parse_args()

    from cableqa.evaluate import load_questions, score

    dev = load_questions(args.dev)
    if args.write_split:
        Path(args.split).write_text(json.dumps(split_dev(dev), indent=1) + "\n")
        print(f"wrote {args.split}")
        return

    sets = load_sets(args, dev)
    out = Output("retrieval on the dev tune half, the dev check half and the validation sets", args.out)
    searcher = open_searcher(args.index, out, note=f"; search settings: {args.tuning or 'default'}")
    searcher.tuning = tuning(args.tuning)
    reports = {name: score(qs, answers(searcher)) for name, qs in sets.items()}

    base = reports["dev-tune"].overall.row()["R@5"]
    rows = []
    for name, report in reports.items():
        o = report.overall.row()
        rows.append([name, o["n"], f"{o['R@1']:.3f}", f"{o['R@5']:.3f}", f"{o['R@10']:.3f}", f"{o['MRR@10']:.3f}",
                     f"{o['cableR@5']:.3f}", f"{o['R@5'] - base:+.3f}", ms(percentile(report.latencies, 50))])
    out.print("", table(["set", "n", "R@1", "R@5", "R@10", "MRR@10", "cableR@5", "R@5 - tune", "p50 ms"], rows))
    for name, report in reports.items():
        out.print("", report.table(f"{name}, per question type:"))
    for name, report in reports.items():
        out.print("", f"{name}: questions whose evidence is not in the top 5 ({len(report.misses)}):")
        for m in report.misses:
            out.print(f"  {m['qid']} [{m['type']}] rank={m['rank']} cable_rank={m['cable_rank']}: {m['q'][:100]}")
    if args.per_question:
        out.print("", "per question (set qid type rank cable_rank):")
        for name, report in reports.items():
            for r in report.ranks:
                out.print(f"{name} {r['qid']} {r['type']} {r['rank'] or '-'} {r['cable_rank'] or '-'}")
    out.save()


if __name__ == "__main__":
    main()
