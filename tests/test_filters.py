"""Filters: from flags, from the question, fuzzy origins, and what the search does with them."""

import pytest

from cableqa import indexer
from cableqa.cables import Report
from cableqa.filters import Filters, match_origins
from cableqa.query import Query, mentioned_period
from cableqa.search import Searcher

from conftest import SEED, FakeEmbedder, cable_record, teletype, write_jsonl


def test_flags_parse_and_refuse_bad_values():
    f = Filters.from_flags(origin=" Almaty ", since="2005", until="2005-12", classification="secret",
                           tags=["pter", " "], cable_ids=["05almaty4281"])
    assert (f.origin, f.date_from, f.date_to, f.classification, f.tags, f.cable_ids) == (
        "Almaty", "2005-01-01", "2005-12-31", "SECRET", ("PTER",), ("05ALMATY4281",))
    with pytest.raises(ValueError, match="no month 13"):
        Filters.from_flags(since="2005-13")
    with pytest.raises(ValueError, match="is empty"):
        Filters.from_flags(since="2006", until="2005")
    assert not Filters()


@pytest.mark.parametrize("question, described", [
    ("cables from Cairo in 2008 about elections", "origin ~ Cairo; dated 2008-01-01 to 2008-12-31"),
    ("What did cables from the embassy in Ankara say in March 2004?",
     "origin ~ Ankara; dated 2004-03-01 to 2004-03-31"),
    ("secret cables tagged PTER", "classification SECRET; tagged PTER"),
    ("2009 cables about Iran", "dated 2009-01-01 to 2009-12-31"),
    ("cables between 2003 and 2005 on trade", "dated 2003-01-01 to 2005-12-31"),
    ("Why did Burma hand over its intelligence report on militants in 2002?", ""),  # a time, not a filter
])
def test_filters_stated_in_the_question(question, described):
    assert Query.parse(question).filters.describe() == described


def test_cable_ids_named_in_the_question():
    assert Query.parse("What does 05ALMATY4281 say?").cables == ("05ALMATY4281",)
    assert Query.parse("What does ALMATY 4281 say?", {"ALMATY"}).cables == ("*ALMATY4281",)
    assert Query.parse("What happened in Almaty 2005?", {"ALMATY"}).cables == ()


def test_fuzzy_origins():
    origins = ["US Office Almaty", "Embassy Tel Aviv", "Consulate Sao Paulo", "Embassy Ankara"]
    assert match_origins("Almaty", origins) == ["US Office Almaty"]
    assert match_origins("tel-aviv", origins) == ["Embassy Tel Aviv"]
    assert match_origins("São Paulo", origins) == ["Consulate Sao Paulo"]
    assert match_origins("Ankra", origins) == ["Embassy Ankara"]
    assert match_origins("Nowhere", origins) == []


def test_period_a_question_names():
    assert mentioned_period("visited in late August 2004") == ("2004-08-01", "2004-11-29")
    assert mentioned_period("in early 1988") == ("1988-01-01", "1988-07-29")
    assert mentioned_period("no time here") is None


@pytest.fixture
def searcher(tmp_path):
    recs = [cable_record("04ANKARA1", teletype("TURKEY TRADE", ["Tariffs on steel were discussed at length."]),
                         origin="Embassy Ankara", created="2004-02-01T10:00:00", tags=["ETRD", "TU"]),
            cable_record("08CAIRO2", teletype("EGYPT TRADE", ["Tariffs on steel were raised again."]),
                         origin="Embassy Cairo", created="2008-06-01T10:00:00", classification="SECRET",
                         tags=["PTER", "EG"])]
    ix = tmp_path / "ix"
    indexer.run([write_jsonl(tmp_path / "a.jsonl", recs), SEED], ix, lambda m: FakeEmbedder(), report=Report())
    return Searcher(ix, embedder=FakeEmbedder())


def test_search_applies_and_reports_filters(searcher):
    both = {h.cable_id for h in searcher.search("steel tariffs", k=5).hits}
    assert {"04ANKARA1", "08CAIRO2"} <= both
    r = searcher.search("steel tariffs in cables from Cairo")
    assert {h.cable_id for h in r.hits} == {"08CAIRO2"}
    assert "origin ~ Cairo" in r.filters.describe() and any("Filters from your question" in n for n in r.notes)
    r = searcher.search("steel tariffs", filters=Filters.from_flags(since="2004", until="2004"))
    assert {h.cable_id for h in r.hits} == {"04ANKARA1"}
    r = searcher.search("steel tariffs", filters=Filters.from_flags(tags=["PTER"], classification="secret"))
    assert {h.cable_id for h in r.hits} == {"08CAIRO2"}


def test_filters_that_match_nothing_say_so(searcher):
    r = searcher.search("steel tariffs", filters=Filters.from_flags(origin="Reykjavik"))
    assert not r.hits and "No cables from an origin like 'Reykjavik'" in r.notes[-1]
    r = searcher.search("steel tariffs", filters=Filters.from_flags(since="1990", until="1991"))
    assert not r.hits and "No cables match the filters" in r.notes[-1]


def test_a_named_cable_comes_first(searcher):
    r = searcher.search("steel tariffs and ALMATY 4281")
    assert r.hits[0].cable_id == "05ALMATY4281"
    assert any("shown first: 05ALMATY4281" in n for n in r.notes)
