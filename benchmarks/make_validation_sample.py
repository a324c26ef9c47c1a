"""The random cables behind ``benchmarks/validation.jsonl``, and the checks its questions must pass.

Not a benchmark: the validation set's provenance.  Cables are drawn from
``../shared/cables/subset-3000.jsonl.xz`` (so the set works on the subset and on the full
corpus, which contains it) in a seeded random order, leaving out every dev gold cable and every
cable without a substantive paragraph (``MIN_WORDS`` words or more).  The questions themselves
were written by hand from this listing (see ``benchmarks/validation.md``).

    python benchmarks/make_validation_sample.py [--start 0] [--count 80]   # print candidates
    python benchmarks/make_validation_sample.py --check benchmarks/validation.jsonl
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Iterable

from _common import DEV, SUBSET

SEED = 17  # issue 17
MIN_WORDS = 25  # a paragraph shorter than this is not worth a question
TYPES = ("paraphrase", "entity", "context", "date", "followup")
_PRINTED = re.compile(r"^\s*(\d{1,3})\.\s", re.MULTILINE)


def sample_order(ids: Iterable[str], exclude: set[str], seed: int = SEED) -> list[str]:
    """The cable ids not in ``exclude``, sorted, then shuffled with ``seed``: the order cables are drawn in."""
    order = sorted(set(ids) - exclude)
    random.Random(seed).shuffle(order)
    return order


def substantive(paragraphs) -> list:
    """The paragraphs (``layout.Paragraph``) of at least ``MIN_WORDS`` words."""
    return [p for p in paragraphs if len(p.text.split()) >= MIN_WORDS]


def evidence_problems(question: dict, body: str) -> list[str]:
    """What is wrong with a question's evidence against its cable's body ([] when nothing).

    The evidence must be 6-15 words, occur (normalised as the scorer does) in the body, and in
    exactly one paragraph as :func:`cableqa.layout.parse` prints it: the one numbered ``para``."""
    from cableqa.evaluate import normalise
    from cableqa.layout import parse

    evidence = normalise(question["evidence"]).strip()
    problems = []
    if not 6 <= len(evidence.split()) <= 15:
        problems.append(f"evidence has {len(evidence.split())} words, not 6-15")
    if evidence not in normalise(body):
        problems.append("evidence not in the cable body")
    holders = [p for p in parse(body).paragraphs if evidence in normalise(p.text)]
    if len(holders) != 1:
        problems.append(f"evidence in {len(holders)} paragraphs, not exactly one")
    elif question["para"] not in (holders[0].number, printed_number(body, evidence)):
        problems.append(f"evidence is in paragraph {holders[0].number}, not {question['para']}")
    return problems


def printed_number(body: str, evidence: str) -> str | None:
    """The number printed at the head of the last line starting "N." before ``evidence`` (normalised)
    in the raw ``body``: the printed paragraph, also where the parser joined several into one."""
    found = re.search(r"\W+".join(map(re.escape, evidence.split())), body.lower())
    heads = _PRINTED.findall(body[:found.start()]) if found else []
    return heads[-1] if heads else None


def question_problems(question: dict) -> list[str]:
    """Field-level problems of one validation question ([] when nothing)."""
    problems = [f"no field {k!r}" for k in ("qid", "q", "history", "cable_id", "para", "evidence", "type")
                if k not in question]
    if problems:
        return problems
    if question["type"] not in TYPES:
        problems.append(f"unknown type {question['type']!r}")
    if (question["type"] == "followup") != bool(question["history"]):
        problems.append("history must be non-empty exactly for followup questions")
    return problems


def _cables(path=SUBSET) -> dict:
    from cableqa.cables import Report, read_paths

    return {c.id: c for c in read_paths([path], Report())}


def check(path: str) -> int:
    """Print every problem of the questions in ``path``; the number of problems."""
    from collections import Counter

    from cableqa.evaluate import load_questions, normalise

    questions = load_questions(path)
    cables = _cables()
    dev_gold = {q["cable_id"] for q in load_questions(DEV)}
    bodies = {cid: normalise(c.body) for cid, c in cables.items()}
    count = 0
    for q in questions:
        problems = question_problems(q)
        cable = cables.get(q.get("cable_id"))
        if cable is None:
            problems.append("cable not in subset-3000")
        elif not problems:
            problems += evidence_problems(q, cable.body)
            if q["cable_id"] in dev_gold:
                problems.append("a dev gold cable")
            evidence = normalise(q["evidence"]).strip()
            elsewhere = [cid for cid, b in bodies.items() if evidence in b and cid != q["cable_id"]]
            if elsewhere:
                problems.append(f"evidence also in {', '.join(elsewhere[:3])}: not a unique answer")
        for p in problems:
            print(f"{q.get('qid')}: {p}")
        count += len(problems)
    ids = [q["qid"] for q in questions]
    print(f"{len(questions)} questions, {len({q['cable_id'] for q in questions})} cables, "
          f"{len(set(ids))} distinct qids; types {dict(Counter(q['type'] for q in questions))}; {count} problems")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=0, help="first candidate to print (0-based)")
    parser.add_argument("--count", type=int, default=80, help="how many candidates to print")
    parser.add_argument("--check", metavar="JSONL", help="check a question file instead of printing candidates")
    args = parser.parse_args()
    if args.check:
        sys.exit(1 if check(args.check) else 0)

    from cableqa.evaluate import load_questions
    from cableqa.layout import parse

    cables = _cables()
    dev_gold = {q["cable_id"] for q in load_questions(DEV)}
    shown = 0
    for n, cid in enumerate(sample_order(cables, dev_gold)):
        cable = cables[cid]
        paragraphs = substantive(parse(cable.body).paragraphs)
        if not paragraphs:
            print(f"#{n} {cid}: skipped, no paragraph of {MIN_WORDS}+ words\n")
            continue
        if n >= args.start:
            tags = " ".join(cable.tags)
            print(f"#{n} {cid} · {cable.origin} · {cable.created[:10]} · {cable.subject} · tags {tags}")
            for p in paragraphs:
                print(f"  [{p.number}] {p.text}")
            print()
            shown += 1
            if shown >= args.count:
                break


if __name__ == "__main__":
    main()
