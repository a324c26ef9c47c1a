"""``cableqa index --engine ray`` builds what the local build builds (skipped without Ray)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import numpy as np
import pytest

from conftest import SUBSET, need_shared
from cableqa import config, store
from cableqa.cables import Report, read_paths


@pytest.mark.slow
def test_ray_build_matches_the_local_build(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cableqa[ray]'")
    need_shared()
    from cableqa import indexer, ray_engine
    from cableqa.embed import embedder_factory
    from cableqa.search import Searcher

    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray, started and stopped by the build
    cables = [c for _, c in zip(range(24), read_paths([SUBSET], Report()))]
    src = tmp_path / "cables.jsonl"
    src.write_text("".join(json.dumps({"id": c.id, "origin": c.origin, "created": c.created, "subject": c.subject,
                                       "classification": c.classification, "body": c.body}) + "\n" for c in cables))
    make = embedder_factory(config.resolve(index=str(tmp_path / "unused"), device="cpu", backend="torch"))
    local = indexer.run([src], tmp_path / "local", make, report=Report(), workers=1)
    ray = indexer.run([src], tmp_path / "ray", make, report=Report(), preparer=ray_engine.preparer(1))
    assert (ray.cables, ray.chunks, ray.chunks_embedded) == (local.cables, local.chunks, local.chunks_embedded) \
        == (24, local.chunks, local.chunks)
    assert f"({ray.chunks} by the engine's workers" in ray.summary() and "workers" not in local.summary()
    rows = {}
    for name in ("local", "ray"):
        gen = store.IndexDir(tmp_path / name).current()
        with closing(sqlite3.connect(gen / store.DB)) as conn:
            rows[name] = conn.execute("SELECT id, key, cable_id, text, text_key, vector FROM chunks ORDER BY id").fetchall()
    assert [r[:5] for r in rows["ray"]] == [r[:5] for r in rows["local"]]  # same chunks, same ids
    a = np.stack([np.frombuffer(r[5], np.float32) for r in rows["local"]])
    b = np.stack([np.frombuffer(r[5], np.float32) for r in rows["ray"]])
    assert np.all((a * b).sum(1) > 0.9999)  # same model; only batch composition differs
    for question in ("Who met the ambassador?", "What did the embassy report about the elections?"):
        hits = [[(h.cable_id, h.ordinal, h.chunk) for h in Searcher(tmp_path / name).search(question, k=5).hits] for name in ("local", "ray")]
        assert hits[0] == hits[1]
    again = indexer.run([src], tmp_path / "ray", make, report=Report(), preparer=ray_engine.preparer(1))
    assert again.chunks_embedded == 0 and again.published is None  # incremental: nothing new, nothing published
