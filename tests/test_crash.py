"""Crash safety: SIGKILL at random points of an index update never leaves a broken or half-read index."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cableqa import check, indexer
from cableqa.cables import Report
from cableqa.index import Index
from cableqa.search import Searcher

from conftest import FakeEmbedder, cable_record, teletype, write_jsonl

WORKER = Path(__file__).with_name("crash_worker.py")


def records(n, start=0):
    return [cable_record(f"04CRASH{i}", teletype(f"CRASH SUBJECT {i}", [f"Alpha {i} said topic{i} matters.",
                                                                       f"Beta {i} added detail{i}."]))
            for i in range(start, start + n)]


def assert_healthy(ix: Path, min_cables: int) -> int:
    result = check.check(ix)
    assert result.ok, result.problems
    index = Index(ix)
    assert index.faiss.ntotal == index.manifest.chunks
    searcher = Searcher(ix, embedder=FakeEmbedder())
    assert searcher.search("What did Alpha 3 say about topic3?", k=3).hits
    assert index.manifest.cables >= min_cables
    return index.manifest.cables


def test_sigkill_at_random_points_keeps_the_index_loadable(tmp_path):
    ix = tmp_path / "ix"
    base = write_jsonl(tmp_path / "base.jsonl", records(20))
    indexer.run([base], ix, lambda m: FakeEmbedder(), report=Report())
    update = write_jsonl(tmp_path / "update.jsonl", records(400))
    rng = random.Random(7)
    kills = 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for trial in range(40):  # until 10 kills landed (a run may finish before its kill time)
        if kills >= 10:
            break
        proc = subprocess.Popen([sys.executable, str(WORKER), str(update), str(ix)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        assert_healthy(ix, min_cables=20)
        if proc.returncode == 0:
            update = write_jsonl(update, records(400, start=1000 * (trial + 1)))  # a fresh update to kill
    assert kills >= 10
    subprocess.run([sys.executable, str(WORKER), str(update), str(ix)], env=env, check=True, capture_output=True)
    assert assert_healthy(ix, min_cables=420) >= 420


def test_second_writer_process_is_refused(tmp_path):
    ix = tmp_path / "ix"
    src = write_jsonl(tmp_path / "a.jsonl", records(400))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen([sys.executable, str(WORKER), str(src), str(ix)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not (ix / "lock").exists() or not (ix / "lock").read_text():
            assert time.time() < deadline
            time.sleep(0.05)
        second = subprocess.run([sys.executable, str(WORKER), str(src), str(ix)], env=env, capture_output=True,
                                text=True)
        assert second.returncode != 0
        assert "another `cableqa index` is updating" in second.stderr
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0


def test_reader_never_sees_a_half_written_index(tmp_path):
    ix = tmp_path / "ix"
    indexer.run([write_jsonl(tmp_path / "base.jsonl", records(20))], ix, lambda m: FakeEmbedder(), report=Report())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen([sys.executable, str(WORKER), str(write_jsonl(tmp_path / "u.jsonl", records(300, start=20))),
                               str(ix)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    generations = set()
    searcher = Searcher(ix, embedder=FakeEmbedder())
    while writer.poll() is None:
        searcher.refresh()
        generations.add(searcher.index.generation.name)
        index = searcher.index
        assert index.faiss.ntotal == index.manifest.chunks  # each generation is whole
        assert searcher.search("What did Beta 5 add?", k=3).hits
    assert writer.returncode == 0
    searcher.refresh()
    generations.add(searcher.index.generation.name)
    assert len(generations) >= 2 and searcher.index.manifest.cables == 320


def test_damaged_vector_file_is_repaired(tmp_path):
    ix = tmp_path / "ix"
    indexer.run([write_jsonl(tmp_path / "a.jsonl", records(5))], ix, lambda m: FakeEmbedder(), report=Report())
    gen = Index(ix).generation
    (gen / "vectors.faiss").write_bytes(b"garbage")
    result = check.check(ix)
    assert not result.ok and result.repairable and "repair" in result.advice()
    check.repair(ix)
    assert check.check(ix).ok


@pytest.mark.slow
def test_sigkill_of_the_real_cli_during_an_update(tmp_path, real_cables):
    """Acceptance: kill -9 during `cableqa index` leaves an index that loads and answers (real model)."""
    from conftest import SEED

    ix = tmp_path / "ix"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "cableqa.cli"]
    subprocess.run([*cli, "index", str(SEED), "--index", str(ix), "-q"], env=env, check=True, capture_output=True)
    more = write_jsonl(tmp_path / "more.jsonl", real_cables[:60])
    proc = subprocess.Popen([*cli, "index", str(more), "--index", str(ix)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = ""
    while "embedding" not in seen and proc.poll() is None:  # wait until chunks are being embedded
        seen += proc.stderr.read(64)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out = subprocess.run([*cli, "check", "--index", str(ix)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    ask = subprocess.run([*cli, "search", "Who did Kazakhstan's Security Council Secretary suspect of planning "
                                          "post-election violence?", "--index", str(ix), "-k", "1"],
                         env=env, capture_output=True, text=True)
    assert "05ALMATY4281 ¶3" in ask.stdout
