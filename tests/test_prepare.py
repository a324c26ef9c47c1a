"""Text preparation in a process pool gives the serial result, record for record, in order."""

from __future__ import annotations

import pickle
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import SUBSET, need_shared
from cableqa import chunks, prepare, store
from cableqa.cables import Report, read_paths
from cableqa.embed import DEFAULT_MODEL, TokenCounter, model_path


def subset_cables(n: int):
    need_shared()
    out = []
    for cable in read_paths([SUBSET], Report()):
        out.append(cable)
        if len(out) == n:
            return out
    return out


@pytest.mark.slow
def test_pool_gives_the_serial_records_in_order(monkeypatch):
    monkeypatch.setattr(prepare, "POOL_MIN_CABLES", 2)
    cables = subset_cables(300)
    serial = list(prepare.prepare(cables, 254, chunks.estimate_tokens, workers=1))
    pooled = list(prepare.prepare(cables, 254, chunks.estimate_tokens, workers=2))
    assert len(pooled) == len(serial) == 300
    assert pooled == serial  # frozen records: cables, parsed paragraphs, chunks, contexts, texts, keys
    assert sum(len(p.chunks) for p in pooled) > 1000


@pytest.mark.slow
def test_few_cables_stay_in_this_process(monkeypatch):
    monkeypatch.setattr(prepare.multiprocessing, "get_context", lambda *a: pytest.fail("started a pool"))
    cables = subset_cables(prepare.POOL_MIN_CABLES - 1)
    assert len(list(prepare.prepare(cables, 254, chunks.estimate_tokens, workers=4))) == len(cables)


def test_token_counter_pickles_for_workers():
    tokenizer = Path(model_path(DEFAULT_MODEL)) / "tokenizer.json"
    if not tokenizer.exists():
        pytest.skip(f"the bundled model has no {tokenizer.name}")
    counter = TokenCounter(tokenizer.read_text())
    text = "The Ambassador met Nazarbayev in Astana on 12 May."
    assert pickle.loads(pickle.dumps(counter))(text) == counter(text) > 10


@pytest.mark.slow
def test_indexer_with_workers_stores_the_serial_chunks(tmp_path, make_fake, monkeypatch):
    import json

    from cableqa import indexer

    src = tmp_path / "cables.jsonl"
    src.write_text("".join(json.dumps({"id": c.id, "origin": c.origin, "created": c.created, "subject": c.subject,
                                       "classification": c.classification, "body": c.body}) + "\n"
                           for c in subset_cables(200)))
    monkeypatch.setattr(prepare, "POOL_MIN_CABLES", 2)
    rows = {}
    for workers in (1, 2):
        ix = tmp_path / f"ix{workers}"
        stats = indexer.run([src], ix, make_fake, workers=workers, report=Report())
        assert stats.cables == 200
        gen = store.IndexDir(ix).current()
        with closing(sqlite3.connect(gen / store.DB)) as conn:
            rows[workers] = conn.execute("SELECT id, key, cable_id, ordinal, window, text, text_key FROM chunks "
                                         "ORDER BY id").fetchall()
    assert rows[1] == rows[2] and len(rows[1]) > 1000


def test_workers_setting(monkeypatch):
    from cableqa import config

    monkeypatch.delenv("CABLEQA_WORKERS", raising=False)
    assert config.resolve().workers is None  # the indexer then uses the cores
    monkeypatch.setenv("CABLEQA_WORKERS", "3")
    assert config.resolve().workers == 3 and config.resolve(workers=1).workers == 1
    for bad in ("0", "two", "-1"):
        with pytest.raises(ValueError, match="workers must be"):
            config.resolve(workers=bad)
    with pytest.raises(ValueError, match="engine must be"):
        config.resolve(engine="spark")
