"""Sentence vectors pooled from the paragraph's own model pass (cableqa.sentences): known answers,
where the spans come from, what the index keeps, and the signal that reads them."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np
import pytest

from cableqa import indexer, sentences, signals, store
from cableqa.cables import Report
from cableqa.chunks import embedding_input
from cableqa.index import Index
from cableqa.query import Query
from cableqa.retrieval import Tuning

from conftest import FakeEmbedder, cable_record, teletype, write_jsonl


def test_pool_averages_the_tokens_inside_each_span_and_skips_spans_past_the_window():
    states = np.array([[9, 9], [1, 0], [3, 0], [0, 2], [9, 9]], dtype=np.float32)  # [CLS] a b c [SEP]
    offsets = np.array([[0, 0], [0, 3], [4, 7], [8, 12], [0, 0]])
    got = sentences.pool(states, offsets, [(0, 7), (8, 12), (20, 30)])
    np.testing.assert_allclose(got, [[1, 0], [0, 1]])  # normalised means; (20, 30) was cut off
    assert sentences.pool(states, offsets, [(20, 30)]).shape == (0, 2)


def test_packed_as_float16_and_back():
    v = np.array([[0.6, -0.8], [1.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(sentences.unpack(sentences.pack(v), 2), v, atol=1e-3)
    assert sentences.unpack(sentences.pack(sentences.none(2)), 2).shape == (0, 2)


def test_the_spans_are_the_paragraph_s_sentences_in_the_embedded_text():
    text, spans = embedding_input("ZAGREB. CROATIA: COPYRIGHT LAW", "The HIB met. It said \"no.\" Then left.",
                                  {"HIB": "Housing and Infrastructure Board"})
    assert text.startswith("ZAGREB. CROATIA: COPYRIGHT LAW\n")  # the context is not split into sentences
    assert [text[a:b] for a, b in spans] == ["The Housing and Infrastructure Board met.", "It said \"no.\"",
                                             "Then left."]
    bare, spans = embedding_input("", "One. Two.")
    assert [bare[a:b] for a, b in spans] == ["One.", "Two."]


def test_each_chunk_keeps_its_sentence_vectors_and_an_update_reuses_them(tmp_path):
    src = write_jsonl(tmp_path / "a.jsonl", [cable_record("09TESTVILLE1", teletype("PORT CONTRACTS", [
        "The port authority signed the contract. A second firm protested the award.",
        "The minister denied any wrongdoing."]))])
    ix = tmp_path / "ix"
    indexer.run([src], ix, lambda manifest: FakeEmbedder(), report=Report())
    index = Index(ix)
    ids = sorted(index.chunks_of(["09TESTVILLE1"]), key=lambda cid: index.places([cid])[cid][1])
    kept = index.sentences(ids)
    assert [len(kept[cid]) for cid in ids] == [2, 1]
    fake = FakeEmbedder()
    np.testing.assert_allclose(kept[ids[1]][0], fake._vec("The minister denied any wrongdoing."), atol=1e-3)
    index.close()
    again = indexer.run([src], ix, lambda manifest: FakeEmbedder(), report=Report(), rebuild=True)
    assert again.chunks_embedded == 2  # a rebuild re-embeds; an unchanged text otherwise keeps both blobs


def test_an_index_of_an_older_format_is_refused_with_the_rebuild_command(tmp_path):
    src = write_jsonl(tmp_path / "a.jsonl", [cable_record("09TESTVILLE1", teletype("S", ["Some words here."]))])
    ix = tmp_path / "ix"
    indexer.run([src], ix, lambda manifest: FakeEmbedder(), report=Report())
    gen = store.IndexDir(ix).current()
    with closing(sqlite3.connect(gen / store.DB)) as conn, conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    with pytest.raises(store.IndexError_, match="cableqa index --rebuild"):
        indexer.run([src], ix, lambda manifest: FakeEmbedder(), report=Report())
    assert indexer.run([src], ix, lambda manifest: FakeEmbedder(), report=Report(), rebuild=True).published


class Retriever:
    """What the sentence signal reads: the question's vector and the candidates' sentence vectors."""

    tuning = Tuning(leaders=2)
    kept = {1: [[0.0, 1.0]], 2: [[0.6, 0.8], [0.9, 0.1]], 3: [[1.0, 0.0]]}

    def encode(self, text):
        return np.array([1.0, 0.0])

    def sentences(self, ids):
        return {cid: np.array(self.kept[cid]) for cid in ids}


def test_the_sentence_signal_reorders_only_the_leaders_by_their_best_sentence(monkeypatch):
    table = (signals.Signal("dense", 1.0, "rank", signals.dense, ""),
             signals.Signal("sentence", 2.0, "rank", signals.sentence, "", leaders=True))
    monkeypatch.setattr(signals, "SIGNALS", table)
    c = signals.Candidates(Query.parse("Who signed?"), Retriever(), [1, 2, 3], {1: ("A", 1), 2: ("A", 2), 3: ("B", 1)})
    scores, _ = signals.fuse(c, {"dense": 1.0, "sentence": 2.0})
    assert c.leaders == [1, 2]  # the 2 best by dense; 3's sentence matches best but it is not a leader
    assert sorted(scores, key=lambda cid: -scores[cid]) == [2, 1, 3]  # 2's best sentence (0.9) beats 1's (0.0)
    unit = 1 / 11
    assert scores[3] == pytest.approx(unit * 11 / 13)


@pytest.mark.slow
def test_the_real_model_s_sentence_vectors_come_from_the_paragraph_s_own_pass():
    from cableqa.embed import load_embedder

    model = load_embedder(backend="torch", device="cpu")
    inputs = [embedding_input("ASTANA. KAZAKHSTAN: ENERGY", "The minister discussed the gas pipeline with the "
                              "ambassador. Separately, the embassy hosted a concert for students."),
              embedding_input("", "Post recommends approval of the visa.")]
    texts, spans = [t for t, _ in inputs], [s for _, s in inputs]
    vecs, parts = model.encode_parts(texts, spans)
    np.testing.assert_allclose(vecs, model.encode(texts), atol=1e-5)  # the paragraph vectors are unchanged
    assert [len(p) for p in parts] == [2, 1]
    assert np.allclose(np.linalg.norm(parts[0], axis=1), 1, atol=1e-5)
    q = model.encode_query("What did the minister say about the pipeline?")
    assert parts[0][0] @ q > parts[0][1] @ q  # the sentence on the pipeline, not the concert
    assert parts[0][0] @ q > vecs[0] @ q  # and it matches better than the whole paragraph


def test_placed_finds_each_window_s_sentences_in_the_shown_text():
    paragraph = "First one here. Second one there. Third one last."
    one, two = np.eye(3, dtype=np.float32)[:2], np.eye(3, dtype=np.float32)[1:]
    windows = [("First one here. Second one there.", one), ("Second one there. Third one last.", two)]
    got = sentences.placed(paragraph, windows)
    assert [(paragraph[a:b], v.tolist()) for a, b, v in got] == [
        ("First one here.", [1, 0, 0]), ("Second one there.", [0, 1, 0]),
        ("Second one there.", [0, 1, 0]), ("Third one last.", [0, 0, 1])]
    # a long paragraph shows one window: the other window's sentences are not placed
    shown = windows[1][0]
    assert [shown[a:b] for a, b, _ in sentences.placed(shown, windows)] == ["Second one there.", "Third one last."]
    # a window cut before its last sentence's vector: the spans past it get none
    assert len(sentences.placed(paragraph, [(paragraph, np.eye(3, dtype=np.float32)[:2])])) == 2
