"""The in-memory BM25 keyword index: known answers, incremental updates, save/load."""

import numpy as np

from cableqa.keywords import KeywordIndex, fts_phrase_query, terms, tokens
from cableqa.query import phrases

ROWS = [(10, "The minister discussed elections and election violence.", "KAZAKHSTAN. Embassy Almaty"),
        (20, "Talks on trade tariffs continued.", "TURKEY. Embassy Ankara"),
        (30, "Nothing about that here.", "KAZAKHSTAN. Embassy Almaty")]


def test_tokens_and_terms():
    assert tokens("The Elections were held; ELECTION results.") == ["elect", "held", "elect", "result"]
    assert terms("Who did Kazakhstan's Security Council suspect?") == ["kazakhstan", "security", "council",
                                                                        "suspect"]
    assert phrases('what about "operative measures" and “clear planning”?') == ("operative measures",
                                                                                "clear planning")
    assert fts_phrase_query("Operative-measures!") == '"operative measures"'


def test_bm25_ranks_and_fields():
    kw = KeywordIndex.build(ROWS)
    hits = kw.search("election violence", 5, (1.0, 0.5))
    assert [h[0] for h in hits] == [10]
    hits = kw.search("Almaty trade", 5, (1.0, 0.5))
    assert [h[0] for h in hits] == [20, 10, 30]  # a text match outweighs context matches
    assert kw.search("Almaty", 5, (1.0, 0.0)) == []  # context weight 0: context words do not count
    assert [h[0] for h in kw.search("Almaty", 5, (1.0, 0.5), within=[30, 99])] == [30]
    assert kw.search("zzz", 5, (1.0, 0.5)) == []


def test_incremental_update_equals_rebuild(tmp_path):
    kw = KeywordIndex.build(ROWS[:2]).updated([20], [ROWS[2], (5, "Trade election news.", "")])
    fresh = KeywordIndex.build([ROWS[0], ROWS[2], (5, "Trade election news.", "")])
    assert kw.ids.tolist() == [5, 10, 30] == fresh.ids.tolist()
    q = "election trade Almaty"
    assert np.allclose(kw.scores(q, (1.0, 0.5)), fresh.scores(q, (1.0, 0.5)))
    kw.save(tmp_path / "k.npz")
    back = KeywordIndex.load(tmp_path / "k.npz")
    assert np.allclose(back.scores(q, (1.0, 0.5)), fresh.scores(q, (1.0, 0.5)))
