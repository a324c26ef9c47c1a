"""Incremental indexing with a fake embedder: new, changed, unchanged, moved, pruned, rebuilt, locked."""

import json

import pytest

from cableqa import indexer, render, store
from cableqa.cables import Report
from cableqa.index import Index
from cableqa.search import Searcher

from conftest import FakeEmbedder, SEED, cable_record, teletype, write_jsonl


def records(n, prefix="04TESTVILLE", start=0):
    return [cable_record(f"{prefix}{i}", teletype(f"SUBJECT {i}", [
                f"Alpha {i} talks about topic{i} with the visiting delegation.",
                f"Beta {i} adds more on subject{i} after the morning meeting."]))
            for i in range(start, start + n)]


def run(sources, index, make, **kw):
    return indexer.run(sources, index, make, report=Report(), **kw)


def test_incremental_cycle(tmp_path, make_fake):
    src = write_jsonl(tmp_path / "a.jsonl", records(5))
    ix = tmp_path / "ix"
    s1 = run([src], ix, make_fake)
    assert (s1.new, s1.chunks_embedded, s1.cables, s1.chunks) == (5, 10, 5, 10)
    s2 = run([src], ix, make_fake)
    assert (s2.unchanged, s2.chunks_embedded, s2.published) == (5, 0, None)
    s3 = run([src, SEED], ix, make_fake)
    assert (s3.new, s3.unchanged, s3.chunks_embedded) == (1, 5, 9)
    # change one paragraph of one cable: only that paragraph is re-embedded
    recs = records(5)
    recs[2]["body"] = recs[2]["body"].replace("Beta 2 adds", "Gamma 2 adds")
    write_jsonl(src, recs)
    s4 = run([src, SEED], ix, make_fake)
    assert (s4.changed, s4.chunks_embedded, s4.chunks_reused) == (1, 1, 1)
    info = Index(ix).info()
    assert (info["cables"], info["chunks"], info["model"]) == (6, 19, "fake-bow")


def test_prune_drops_cables_whose_source_is_gone(tmp_path, make_fake):
    a = write_jsonl(tmp_path / "a.jsonl", records(3))
    b = write_jsonl(tmp_path / "b.jsonl", records(2, start=10))
    ix = tmp_path / "ix"
    run([a, b], ix, make_fake)
    write_jsonl(a, records(2))  # 04TESTVILLE2 removed from a.jsonl
    b.unlink()
    stats = run([a], ix, make_fake, prune=True)
    assert (stats.removed, stats.chunks_embedded, stats.cables) == (3, 0, 2)
    stats = run([a], ix, make_fake)  # without --prune nothing is dropped
    assert stats.removed == 0


def test_prune_keeps_cables_of_sources_not_read_this_time(tmp_path, make_fake):
    a = write_jsonl(tmp_path / "a.jsonl", records(2))
    b = write_jsonl(tmp_path / "b.jsonl", records(2, start=10))
    ix = tmp_path / "ix"
    run([a, b], ix, make_fake)
    stats = run([a], ix, make_fake, prune=True)
    assert stats.removed == 0 and stats.cables == 4


def test_duplicate_ids_keep_the_longer_body(tmp_path, make_fake):
    short = cable_record("04DUP1", teletype("DUP", ["Short."]))
    long = cable_record("04DUP1", teletype("DUP", ["Longer text here.", "And more."]))
    a = write_jsonl(tmp_path / "a.jsonl", [short])
    b = write_jsonl(tmp_path / "b.jsonl", [long])
    report = Report()
    stats = indexer.run([a, b], tmp_path / "ix", make_fake, report=report)
    assert stats.duplicates == 1 and stats.cables == 1
    assert any("duplicate id 04DUP1" in p.reason and "longer body" in p.reason for p in report.problems)
    assert Index(tmp_path / "ix").cable("04DUP1").source.endswith("b.jsonl:1")


def test_cable_without_paragraphs_is_stored_and_reported(tmp_path, make_fake):
    header_only = cable_record("08TESTVILLE9", "C O N F I D E N T I A L TESTVILLE 000009\n\nE.O. 12958: DECL: "
                               "08/12/2018\nTAGS: PREL\nSUBJECT: TRUNCATED\n\nClassified By: Ambassador X...\n")
    src = write_jsonl(tmp_path / "a.jsonl", [*records(1), header_only])
    report = Report()
    stats = indexer.run([src], tmp_path / "ix", make_fake, report=report)
    assert (stats.cables, stats.chunks) == (2, 2)
    assert [str(p) for p in report.problems] == [
        "warning: " + str(src) + ":2 (08TESTVILLE9): no paragraph, only header lines; stored but not searchable"]
    assert "1 warning(s) above" in stats.summary()
    view = Index(tmp_path / "ix").cable("08TESTVILLE9")  # it opens, showing its header
    assert view.fields["subject"] == "TRUNCATED" and not view.paragraphs
    assert "no paragraph text in the source" in render.cable_html(view)


def test_rebuild_without_sources_rereads_recorded_files(tmp_path, make_fake):
    a = write_jsonl(tmp_path / "a.jsonl", records(3))
    ix = tmp_path / "ix"
    run([a], ix, make_fake)
    stats = run([], ix, make_fake, rebuild=True)
    assert (stats.new, stats.chunks_embedded, stats.cables) == (3, 6, 3)
    assert len(list(ix.glob("g*"))) == 2  # the live generation and the one before it


def test_model_mismatch_is_refused_with_fix(tmp_path, make_fake):
    a = write_jsonl(tmp_path / "a.jsonl", records(1))
    ix = tmp_path / "ix"
    run([a], ix, make_fake)

    class Other(FakeEmbedder):
        model = "other-model"

    with pytest.raises(store.IndexError_, match="--rebuild"):
        run([a], ix, lambda manifest: Other())
    with pytest.raises(store.IndexError_, match="was built with model 'fake-bow'"):
        Index(ix).check_model("other-model", None)


def test_second_writer_is_stopped_by_the_lock(tmp_path, make_fake):
    ix = tmp_path / "ix"
    with store.IndexDir(ix).lock():
        with pytest.raises(store.IndexError_, match="another `cableqa index` is updating"):
            run([write_jsonl(tmp_path / "a.jsonl", records(1))], ix, make_fake)


def test_interrupted_build_resumes(tmp_path, make_fake, monkeypatch):
    src = write_jsonl(tmp_path / "a.jsonl", records(300))
    ix = tmp_path / "ix"
    monkeypatch.setattr(indexer, "BATCH_CHUNKS", 50)
    calls = {"n": 0}
    real = indexer._write_batch

    def crash_after_three(*args):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(indexer, "_write_batch", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        run([src], ix, make_fake)
    assert store.IndexDir(ix).current() is None and store.IndexDir(ix).partials()
    monkeypatch.setattr(indexer, "_write_batch", real)
    stats = run([src], ix, make_fake)
    assert stats.cables == 300 and stats.chunks_embedded == 600 - 3 * 50
    assert stats.unchanged == 75  # three batches of 50 chunks (25 cables each) were already committed


def test_search_over_fake_index(tmp_path, make_fake):
    ix = tmp_path / "ix"
    run([write_jsonl(tmp_path / "a.jsonl", records(5)), SEED], ix, make_fake)
    searcher = Searcher(ix, embedder=FakeEmbedder())
    result = searcher.search("What does Beta 3 add on subject3?", k=3)
    assert result.hits[0].cable_id == "04TESTVILLE3" and result.hits[0].para == "2"
    hit = result.hits[0].to_json()
    assert set(hit) >= {"cable_id", "para", "text", "score", "origin", "created", "classification", "subject"}
    json.dumps(result.to_json())


class CountingEmbedder(FakeEmbedder):
    """Records the texts it embeds, in batches (encode) and one at a time (encode_query)."""

    def __init__(self):
        super().__init__()
        self.texts, self.queries = [], []

    def encode(self, texts, progress=None, block=256):
        self.texts += texts
        return super().encode(texts, progress, block)

    def encode_query(self, text):
        self.queries.append(text)
        return super().encode_query(text)


def test_a_search_embeds_its_texts_in_one_pass_and_a_batch_ahead_in_one_for_all(tmp_path, make_fake):
    ix = tmp_path / "ix"
    run([write_jsonl(tmp_path / "a.jsonl", records(5)), SEED], ix, make_fake)
    asked = [("What does Beta 3 add on subject3?", ()),
             ("In the cable from Almaty, who was suspected of planning violence?", ()),
             ("And what did the minister say?", ("Who was suspected of planning violence?",))]
    single = Searcher(ix, embedder=CountingEmbedder())
    expected = [[(h.cable_id, h.para) for h in single.search(q, history=h, k=5).hits] for q, h in asked]
    # one pass a search, and it holds the asking clause and the earlier turns as well
    assert single.embedder.calls == len(asked) and len(single.embedder.texts) == len(asked) + 2
    batch = Searcher(ix, embedder=CountingEmbedder())
    batch.embed_ahead(asked)
    assert batch.embedder.calls == 1 and sorted(batch.embedder.texts) == sorted(single.embedder.texts)
    assert [[(h.cable_id, h.para) for h in batch.search(q, history=h, k=5).hits] for q, h in asked] == expected
    assert batch.embedder.calls == 1 and single.embedder.queries == batch.embedder.queries == []


def test_a_question_model_that_does_not_load_gives_way_to_the_index_s_own(tmp_path, make_fake, capsys):
    ix = tmp_path / "ix"
    run([SEED], ix, make_fake)  # manifest: model "fake-bow", backend torch, which no ONNX export can load
    searcher = Searcher(ix, device="cpu")
    assert searcher.embedder.backend == "torch"  # the rule's onnx failed; nothing loads the torch one yet
    assert "questions are embedded with torch: the onnx query model did not load" in capsys.readouterr().err
    assert Searcher(ix, device="cpu", query_backend="torch").embedder.backend == "torch"  # chosen: not tried


def test_quoted_phrase_must_match_word_for_word(tmp_path, make_fake):
    ix = tmp_path / "ix"
    run([write_jsonl(tmp_path / "a.jsonl", records(5)), SEED], ix, make_fake)
    searcher = Searcher(ix, embedder=FakeEmbedder())
    result = searcher.search('who mentioned "operative measures"?', k=5)
    assert [h.citation for h in result.hits] == ["05ALMATY4281 ¶3 (C)"]
    assert any("exact words" in n for n in result.notes)
    result = searcher.search('who said "measures operative"?', k=5)
    assert not result.hits and "No paragraph contains" in result.notes[-1]


def test_repeated_paragraphs_fold_into_one_hit_that_cites_both(tmp_path, make_fake):
    ix = tmp_path / "ix"
    shared = "The survey shows that healthcare spending fell in real terms."
    run([write_jsonl(tmp_path / "a.jsonl", [
        cable_record("04TESTVILLE1", teletype("HEALTH NEWSLETTER", [shared, "Clinics opened in the north."])),
        cable_record("04TESTVILLE2", teletype("HEALTH NEWSLETTER", [shared.upper().replace(".", " ."),
                                                                    "Nurses went on strike."]))])], ix, make_fake)
    hits = Searcher(ix, embedder=FakeEmbedder()).search("What does the survey show about healthcare spending?").hits
    first = hits[0]
    assert first.text.lower().startswith("the survey shows") and len(first.also) == 1
    other = "04TESTVILLE2" if first.cable_id == "04TESTVILLE1" else "04TESTVILLE1"
    assert first.also[0][0] == other and first.also[0][2] == f"{other} ¶1 (C)"
    assert not any(h.cable_id == other and h.ordinal == 1 for h in hits)  # shown once
    assert f"same words also in {other} ¶1 (C)" in first.citation_line()
    assert first.to_json()["also"] == [f"{other} ¶1 (C)"]
    assert f'href="#cable/{other}/1"' in render.answer_html(Searcher(ix, embedder=FakeEmbedder()).search(
        "What does the survey show about healthcare spending?"), None)


def test_the_model_embeds_acronyms_spelled_out_and_the_excerpt_keeps_the_cable_s_words(tmp_path, make_fake):
    ix = tmp_path / "ix"
    seen: list[str] = []

    class Recording(FakeEmbedder):
        def encode(self, texts, progress=None, block=256):
            seen.extend(texts)
            return super().encode(texts, progress, block)

    run([write_jsonl(tmp_path / "a.jsonl", [cable_record("09TESTVILLE1", teletype("HOUSING CONTRACTS", [
        "The Housing and Infrastructure Board (HIB) signed a contract with a US firm last month.",
        "A contact said the HIB chairman takes a cut of every contract the board approves."]))])],
        ix, lambda manifest: Recording())
    assert any("said the Housing and Infrastructure Board chairman takes a cut" in t for t in seen)
    conn = Index(ix).conn
    texts = [r[0] for r in conn.execute("SELECT text FROM chunks ORDER BY ordinal")]
    assert texts[1].startswith("A contact said the HIB chairman")
    # benchmarks/model_proxy.py reads back the same terms the indexer spelled out
    assert store.defined_terms(conn, ["09TESTVILLE1", "NO-SUCH-CABLE"]) == {
        "09TESTVILLE1": {"HIB": "Housing and Infrastructure Board"}}
