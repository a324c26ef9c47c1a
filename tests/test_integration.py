"""End to end with the real model: the CLI on the seed and on a slice of real cables."""

import json
import os
import subprocess
import sys

import pytest

from conftest import DEV, SEED, write_jsonl

pytestmark = pytest.mark.slow
ASK = "Who did Kazakhstan's Security Council Secretary suspect of planning post-election violence?"


def cableqa(*args, stdin=None, errors=None):
    """The command's stdout (it must succeed); ``errors``: a list that receives its stderr."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "cableqa.cli", *map(str, args)], input=stdin, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    if errors is not None:
        errors.append(out.stderr)
    return out.stdout


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory):
    ix = tmp_path_factory.mktemp("seed") / "ix"
    out = cableqa("index", SEED.parent, "--index", ix, "-q")
    assert "1 new" in out and "9 chunks" in out
    return ix


def test_seed_question_cites_paragraph_3_first(seed_index):
    out = cableqa("search", ASK, "--index", seed_index, "-k", "3")
    assert out.splitlines()[0].startswith("1. 05ALMATY4281 ¶3 (C) · US Office Almaty · 2005-12-02 · CONFIDENTIAL · "
                                          "KAZAKHSTAN: RUMORS OF ELECTION-RELATED VIOLENCE")
    assert "suspicion was focused on second-level FJK leaders" in out


def test_info_json_and_search_json(seed_index):
    info = json.loads(cableqa("info", "--index", seed_index, "--json"))
    assert (info["cables"], info["chunks"], info["model"]) == (1, 9, "sentence-transformers/all-MiniLM-L6-v2")
    result = json.loads(cableqa("search", "Taraz youth group arrests", "--index", seed_index, "--json", "-k", "2"))
    assert result["hits"][0]["citation"] == "05ALMATY4281 ¶4 (C)"
    assert cableqa("check", "--index", seed_index).strip().endswith("index OK")


def test_batch_mode_answers_every_line(seed_index):
    lines = [{"qid": "a", "q": ASK, "history": []}, "not json", {"qid": "x", "q": 3},
             {"qid": "b", "q": "And what did the Interior Minister say?", "history": [ASK]},
             {"qid": "y", "q": ASK, "history": "not a list"}]
    errors = []
    out = cableqa("search", "--jsonl", "--index", seed_index, errors=errors,
                  stdin="".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["qid"] for r in rows] == ["a", "b"]  # the bad lines are skipped, the rest answered
    assert [line.split(":")[0] for line in errors[0].splitlines() if "skipped" in line] == [
        "stdin line 2", "stdin line 3", "stdin line 5", "skipped 3 stdin line(s)"]
    assert "skipped 3 stdin line(s): 2, 3, 5" in errors[0]  # the summary at the end
    assert rows[0]["hits"][0]["para"] == "3"
    assert set(rows[0]["hits"][0]) >= {"cable_id", "para", "text", "score", "origin", "created", "classification",
                                       "subject"}


def test_real_slice_is_incremental_and_answers(tmp_path, real_cables):
    questions = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()][:6]
    wanted = {q["cable_id"] for q in questions}
    picked = [c for c in real_cables if c["id"] in wanted] + real_cables[:30]
    src = write_jsonl(tmp_path / "slice.jsonl", picked)
    ix = tmp_path / "ix"
    first = cableqa("index", src, "--index", ix, "-q")
    assert f"{len({c['id'] for c in picked})} new" in first
    again = cableqa("index", src, "--index", ix, "-q")
    assert "embedded 0 chunks" in again and "(unchanged)" in again
    qfile = write_jsonl(tmp_path / "q.jsonl", questions)
    hits = cableqa("search", "--jsonl", "--index", ix, stdin=qfile.read_text())
    found = sum(q["cable_id"] in [h["cable_id"] for h in json.loads(line)["hits"][:5]]
                for q, line in zip(questions, hits.splitlines()))
    assert found >= 5  # the right cable in the top 5 for (nearly) every question
