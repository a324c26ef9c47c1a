"""Known-answer tests of the FAISS layer: index type by size, exact neighbours, in-memory vector lookup."""

import numpy as np
import pytest

from cableqa import vectors


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_kind_follows_size():
    assert vectors.kind_for(1_000) == "flat"
    assert vectors.kind_for(vectors.FLAT_MAX) == "flat"
    assert vectors.kind_for(150_000) == "ivf1536"  # 4·√N = 1,549 lists, rounded down to a multiple of 64


@pytest.mark.parametrize("kind", ["flat", "ivf16"])
def test_lookup_returns_the_stored_vectors_and_search_finds_itself(kind):
    ids = np.random.default_rng(1).integers(1, 2**62, 2_000).astype(np.int64)  # chunk ids are large
    vecs = unit_rows(2_000, 32)
    index = vectors.build(ids, vecs, 32, kind)
    vectors.enable_lookup(index)
    pick = ids[[5, 1_999, 0, 700]]
    np.testing.assert_array_equal(vectors.lookup(index, pick), vecs[[5, 1_999, 0, 700]])
    assert vectors.lookup(index, []).shape == (0, 32)
    found, scores = vectors.search(index, vecs[700], 3)
    assert found[0] == ids[700] and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_sync_adds_and_removes_incrementally():
    ids = np.arange(10, 110, dtype=np.int64)
    vecs = unit_rows(100, 8)
    store = dict(zip(ids.tolist(), vecs))

    def fetch(wanted):
        wanted = ids.tolist() if wanted is None else wanted
        return np.asarray(wanted, dtype=np.int64), np.stack([store[i] for i in wanted])

    index = vectors.sync(None, ids[:60], lambda w: fetch(ids[:60].tolist() if w is None else w), 8)
    same = vectors.sync(index, ids[20:], fetch, 8)
    assert same is index and sorted(vectors.ids_of(index).tolist()) == ids[20:].tolist()
