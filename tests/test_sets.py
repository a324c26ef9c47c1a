"""The question sets of benchmarks/sets.py: the dev split and the frozen validation sets."""

from __future__ import annotations

import json
import sys
from collections import Counter

import pytest

from cableqa.evaluate import load_questions

from conftest import DEV, ROOT, SUBSET, need_shared

sys.path.insert(0, str(ROOT / "benchmarks"))
from make_validation_sample import (evidence_problems, printed_number, question_problems,  # noqa: E402
                                    sample_order)
from sets import SPLIT, VALIDATION, VALIDATION2, VALIDATION3, VALIDATION4, VALIDATION5, question_sets, split_dev, tuning  # noqa: E402

BODY = """CONFIDENTIAL  EMBASSY X 000123

SUBJECT: A TEST CABLE

1. (C) The minister said the harbour project would be finished
by the end of the year, whatever the cost.

2. (C) The minister said nothing more about the harbour
project.
"""


def test_split_is_stratified_balanced_and_deterministic():
    qs = [{"qid": f"{t}{i}", "type": t} for t, n in (("a", 5), ("b", 3), ("c", 2)) for i in range(n)]
    halves = split_dev(qs)
    assert halves == split_dev(list(reversed(qs)))  # input order does not matter
    assert Counter(halves.values()) == {"tune": 5, "check": 5}
    for t in "abc":
        per = Counter(h for qid, h in halves.items() if qid.startswith(t))
        assert abs(per["tune"] - per["check"]) <= 1
    assert split_dev(qs, seed=1) != halves or split_dev(qs, seed=2) != halves  # the seed matters


def test_question_sets_names_a_dev_question_the_split_misses():
    dev = [{"qid": "D-1", "type": "a"}, {"qid": "D-2", "type": "a"}]
    sets = question_sets(dev, {"D-1": "tune", "D-2": "check"}, [{"qid": "V-1"}])
    assert [[q["qid"] for q in qs] for qs in sets.values()] == [["D-1"], ["D-2"], ["V-1"]]
    assert list(question_sets(dev, {"D-1": "tune", "D-2": "check"}, [], [{"qid": "W-1"}])) == [
        "dev-tune", "dev-check", "validation", "validation-2"]
    assert list(question_sets(dev, {"D-1": "tune", "D-2": "check"}, [], [], [{"qid": "X-1"}]))[-1] == "validation-3"
    with pytest.raises(ValueError, match="D-2"):
        question_sets(dev, {"D-1": "tune"}, [])


def test_sample_order_is_seeded_and_excludes():
    order = sample_order(["C", "A", "B", "D"], exclude={"B"}, seed=3)
    assert sorted(order) == ["A", "C", "D"]
    assert order == sample_order(["D", "A", "C"], exclude=set(), seed=3)


def test_evidence_problems_known_answers():
    q = {"evidence": "harbour project would be finished by the end", "para": "1"}
    assert evidence_problems(q, BODY) == []
    assert evidence_problems({**q, "para": "2"}, BODY) == ["evidence is in paragraph 1, not 2"]
    assert evidence_problems({**q, "evidence": "The minister said"}, BODY) == [
        "evidence has 3 words, not 6-15", "evidence in 2 paragraphs, not exactly one"]
    assert "evidence not in the cable body" in evidence_problems({**q, "evidence": "a b c d e f g"}, BODY)


def test_printed_number_is_the_number_heading_the_evidence():
    glued = "1. (C) Summary: the talks went well. End Summary.\n2. (C) The envoy said the harbour deal was off.\n"
    q = {"evidence": "envoy said the harbour deal was off", "para": "2"}
    assert printed_number(glued, "envoy said the harbour deal was off") == "2"
    assert evidence_problems({**q, "evidence": "the envoy said the harbour deal was off"}, glued) == []


def test_committed_split_is_what_the_seed_gives():
    need_shared(DEV)
    assert json.loads(SPLIT.read_text()) == split_dev(load_questions(DEV))


def test_tuning_reads_signal_weights_and_settings():
    t = tuning("dense=0.5, leaders=7")
    assert (t.w("dense"), t.w("keyword"), t.leaders) == (0.5, 1.0, 7)
    assert tuning("") == tuning(" ")
    with pytest.raises(SystemExit, match="nope"):
        tuning("nope=1")


@pytest.mark.parametrize("path,least", [(VALIDATION, 66), (VALIDATION2, 60), (VALIDATION3, 60), (VALIDATION4, 60),
                                        (VALIDATION5, 120)],
                         ids=["validation", "validation-2", "validation-3", "validation-4", "validation-5"])
def test_validation_set_is_well_formed_and_its_evidence_is_in_its_cables(path, least):
    need_shared(SUBSET)
    from cableqa.cables import Report, read_paths

    questions = load_questions(path)
    assert len(questions) >= least and len({q["cable_id"] for q in questions}) >= least
    dev_gold = {q["cable_id"] for q in load_questions(DEV)} if DEV.exists() else set()
    wanted = {q["cable_id"] for q in questions}
    bodies = {c.id: c.body for c in read_paths([SUBSET], Report()) if c.id in wanted}
    problems = {q["qid"]: question_problems(q) + evidence_problems(q, bodies[q["cable_id"]])
                for q in questions if q["cable_id"] in bodies}
    assert {qid: p for qid, p in problems.items() if p} == {}
    assert wanted <= set(bodies) and not wanted & dev_gold


def test_the_validation_sets_share_no_cable_and_no_qid():
    sets = [load_questions(p) for p in (VALIDATION, VALIDATION2, VALIDATION3, VALIDATION4, VALIDATION5)]
    for key in ("cable_id", "qid"):
        seen = [{q[key] for q in qs} for qs in sets]
        assert sum(map(len, seen)) == len(set().union(*seen)), key
