"""Adapting the model to a corpus: training pairs (known answers) and the CLI end to end (real model)."""

import json
import os
import subprocess
import sys

import pytest

from cableqa.adapt import META, make_pairs
from cableqa.text import sentences
from conftest import cable_record, teletype, write_jsonl

WORDS = "minister embassy election budget border police court harbour tariff pipeline".split()


def paragraph(cable: int, para: int, n: int = 3) -> str:
    """``n`` sentences of ten words, each naming its cable, paragraph and place in the paragraph."""
    return " ".join(f"Sentence {k} of paragraph {para} in cable {cable} mentions the {WORDS[(para + k) % 10]}."
                    for k in range(1, n + 1))


def rows(cables: int = 3, paras: int = 5):
    return [(f"C{c}", paragraph(c, p), f"SUBJECT {c}. Embassy Testville") for c in range(cables)
            for p in range(paras)]


def test_sentences_split_after_full_stops_before_capitals_and_digits():
    assert sentences('He left. "Then" 2 more came! e.g. this stays? Yes (C) ok. 3 more.') == [
        "He left.", '"Then" 2 more came! e.g. this stays?', "Yes (C) ok.", "3 more."]
    assert sentences("U.S. officials met. No comment.") == ["U.S. officials met.", "No comment."]


def test_pairs_take_four_paragraphs_a_cable_and_leave_the_query_out():
    pairs = make_pairs(rows(), 8, seed=1, keep=0.0)
    assert len(pairs) == 8
    assert [p.cable_id for p in pairs[:4]] == [pairs[0].cable_id] * 4  # batches hold same-cable paragraphs
    assert [p.cable_id for p in pairs[4:]] == [pairs[4].cable_id] * 4 and pairs[4].cable_id != pairs[0].cable_id
    for p in pairs:
        cable = p.cable_id[1:]
        assert f"in cable {cable} " in p.query and len(p.query.split()) >= 8
        assert p.passage.startswith(f"SUBJECT {cable}. Embassy Testville\n")
        assert p.query not in p.passage and p.passage.count("Sentence ") == 2
    assert make_pairs(rows(), 8, seed=1, keep=0.0) == pairs  # the seed decides everything
    assert make_pairs(rows(), 8, seed=2, keep=0.0) != pairs


def test_pairs_skip_short_paragraphs_and_cables_with_too_few():
    few = [("A", paragraph(0, p), "") for p in range(3)]  # only three paragraphs: no group of four
    short = [("B", paragraph(1, p, n=2), "") for p in range(6)]  # two sentences: nothing to leave out
    assert make_pairs(few + short, 100) == []
    kept = make_pairs(few + short + [("D", paragraph(3, p), "") for p in range(4)], 100, keep=1.0)
    assert [p.cable_id for p in kept] == ["D"] * 4
    assert all(p.query in p.passage for p in kept)  # keep=1: the sentence stays in


def test_pairs_keep_the_cable_s_acronyms_as_written():
    # The index embeds "the Housing Board chairman"; training on that text measured worse (make_pairs).
    data = [("C0", f"The Housing Board (HB) met the visiting delegation this week. {paragraph(0, p)} "
                   "The HB chairman spoke at length to the press today.", "")
            for p in range(4)]
    pairs = make_pairs(data, 4, keep=1.0)
    assert len(pairs) == 4
    assert all("The HB chairman" in p.passage and "Housing Board chairman" not in p.passage for p in pairs)


@pytest.mark.slow
def test_adapt_writes_a_model_that_reindexes_and_answers(tmp_path):
    def cableqa(*args, ok=True):
        out = subprocess.run([sys.executable, "-m", "cableqa.cli", *map(str, args)], capture_output=True, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600)
        assert (out.returncode == 0) == ok, out.stdout + out.stderr
        return out.stdout + out.stderr

    src = write_jsonl(tmp_path / "cables.jsonl", [
        cable_record(f"04TESTVILLE{c}", teletype(f"REPORT {c}", [paragraph(c, p) for p in range(5)]))
        for c in range(3)])
    ix = tmp_path / "ix"
    cableqa("index", src, "--index", ix, "-q")
    assert "fewer than one batch" in cableqa("adapt", "--index", ix, "--pairs", "4", "-q", ok=False)
    out = cableqa("adapt", "--index", ix, "--pairs", "8", "--batch", "4", "-q")
    model = tmp_path / "ix-model"
    assert f"wrote {model}" in out and "8 pairs" in out
    meta = json.loads((model / META).read_text())
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and meta["pairs"] == 8
    assert (model / "modules.json").exists() and not list(tmp_path.glob(".ix-model*"))
    cableqa("index", "--index", ix, "--rebuild", "--model", model, "-q")
    info = json.loads(cableqa("info", "--index", ix, "--json"))
    assert info["model"] == str(model)
    hits = json.loads(cableqa("search", "Which cable mentions the harbour tariff?", "--index", ix, "--json"))["hits"]
    assert hits and hits[0]["cable_id"].startswith("04TESTVILLE")
    # a second round must not overwrite the model the index now embeds with
    assert "the model this index was built with" in cableqa("adapt", "--index", ix, "-q", ok=False)


def test_post_grouping_fills_a_batch_with_one_posts_cables_in_order():
    ids = ["04ROME9", "04ROME10", "05ROME2", "92PARIS700", "04PARIS3", "04PARIS20", "04OSLO1"]
    data = [(c, paragraph(i, p), "") for i, c in enumerate(ids) for p in range(4)]
    pairs = make_pairs(data, 100, batch=8, group="post")  # two cables a batch
    batches = [sorted({p.cable_id for p in pairs[i:i + 8]}) for i in range(0, len(pairs), 8)]
    # per post, runs of two in the order sent (92 is 1992); a post's odd one out is left over
    assert sorted(batches) == [["04PARIS3", "92PARIS700"], ["04ROME10", "04ROME9"]]
    assert [p.cable_id for p in pairs if p.cable_id.endswith("ROME9")] == ["04ROME9"] * 4
