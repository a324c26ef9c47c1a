"""The signal table and its one fusion step (cableqa.signals), and loo.py's paired differences."""

from __future__ import annotations

import sys

import pytest

from cableqa import signals
from cableqa.query import Query
from cableqa.retrieval import Tuning

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from loo import compare, interval  # noqa: E402


class Stub:
    """What the scorers below read of a Retriever: only the tuning."""

    tuning = Tuning()


def candidates(named=frozenset(), prior=None):
    place = {1: ("A", 1), 2: ("A", 2), 3: ("B", 1)}
    return signals.Candidates(Query.parse("What did the port say?"), Stub(), [1, 2, 3], place,
                              prior=prior or {}, named=named)


def test_fusion_adds_weight_times_value_times_its_scale(monkeypatch):
    table = (signals.Signal("dense", 1.0, "rank", signals.dense, ""),
             signals.Signal("history", 1.0, "best", signals.history, ""),
             signals.Signal("named_cable", 1.0, "best", signals.named_cable, ""))
    monkeypatch.setattr(signals, "SIGNALS", table)
    monkeypatch.setattr(signals, "RANKINGS", ("dense",))
    unit = 1 / 11  # rrf_k = 10
    weights = {s.name: s.weight for s in table}
    scores, fused = signals.fuse(candidates(named=frozenset({"B"}), prior={"A": 2.0, "B": 1.0}), weights)
    rank = [unit, unit * 11 / 12, unit * 11 / 13]  # 1 / (k + rank)
    assert fused == pytest.approx(dict(zip([1, 2, 3], rank)))
    with_history = [rank[0] + rank[0], rank[1] + rank[0], rank[2] + rank[0] / 2]  # cable share of the best
    assert scores == pytest.approx({1: with_history[0], 2: with_history[1], 3: with_history[2] + max(with_history)})
    assert max(scores, key=scores.get) == 3  # the named cable's paragraph comes first
    off, _ = signals.fuse(candidates(named=frozenset({"B"})), {**weights, "named_cable": 0.0})
    assert max(off, key=off.get) == 1


def test_every_signal_has_a_weight_a_scale_and_a_line():
    assert [s.name for s in signals.SIGNALS] == list(signals.WEIGHTS)
    assert {s.scale for s in signals.SIGNALS} <= {"rank", "best"}
    assert set(signals.RANKINGS) | set(signals.EARLIER) <= set(signals.WEIGHTS)
    assert all(line.split()[0] in signals.WEIGHTS for line in signals.describe().splitlines()[1:])
    assert Tuning().weighted(time=0).w("time") == 0 and Tuning().w("time") == signals.WEIGHTS["time"]
    with pytest.raises(ValueError, match="no signal tyme"):
        Tuning().weighted(tyme=0)


def test_leave_one_out_pairs_each_question():
    shipped = [{"qid": "a", "type": "t", "rank": 1}, {"qid": "b", "type": "t", "rank": 6},
               {"qid": "c", "type": "t", "rank": 2}, {"qid": "d", "type": "t", "rank": None}]
    without = [{"qid": "a", "type": "t", "rank": 7}, {"qid": "b", "type": "t", "rank": 3},
               {"qid": "c", "type": "t", "rank": 2}, {"qid": "d", "type": "t", "rank": None}]
    d = compare(shipped, without)
    assert d["gained"] == ["a"] and d["lost"] == ["b"]
    assert d["dR1"] == pytest.approx(0.25) and d["dR5"] == 0
    assert d["dMRR"] == pytest.approx((1 - 1 / 7 + 1 / 6 - 1 / 3) / 4)
    assert d["changed"] == [("a", "t", 1, 7), ("b", "t", 6, 3)]
    lo, hi = d["dMRR_ci"]
    assert lo <= d["dMRR"] <= hi and lo < 0 < hi  # one question up, one down: no sign either way
    assert interval([0.5] * 9) == (0.5, 0.5) and interval([]) == (0.0, 0.0)
    assert interval([1.0, -1.0] * 30) == interval([1.0, -1.0] * 30)  # seeded


def test_a_cable_s_opening_paragraph_gives_up_0_3_of_a_first_place(monkeypatch):
    table = (signals.Signal("dense", 1.0, "rank", signals.dense, ""),
             signals.Signal("opening", -0.3, "rank", signals.opening, ""))
    monkeypatch.setattr(signals, "SIGNALS", table)
    place = {1: ("A", 1), 2: ("A", 2), 3: ("B", 2), 4: ("C", 3), 5: ("D", 2), 6: ("B", 1)}
    c = signals.Candidates(Query.parse("What did the port say?"), Stub(), [1, 2, 3, 4, 5, 6], place)
    scores, _ = signals.fuse(c, {"dense": 1.0, "opening": -0.3})
    unit = 1 / 11  # rrf_k = 10: ranks 1..6 are worth 11/11, 11/12, ... 11/16 units
    assert scores[1] == pytest.approx(0.7 * unit) and scores[2] == pytest.approx(unit * 11 / 12)
    # A's summary, first by the model, comes 5th (11/15 > 0.7 > 11/16); B's opening stays last
    assert sorted(scores, key=lambda cid: -scores[cid]) == [2, 3, 4, 5, 1, 6]
    off, _ = signals.fuse(c, {"dense": 1.0, "opening": 0.0})
    assert sorted(off, key=lambda cid: -off[cid]) == [1, 2, 3, 4, 5, 6]
