"""Bad input never stops a run: a folder of malformed files beside good ones, through the library and the CLI.

Every bad file is named with a reason, every good cable is indexed (nothing
else is lost), and the run ends with exit status 0 and a summary counting
what was skipped, by reason.

Unreadable files: tests often run as root (CI does), and root reads a
``chmod 000`` file anyway; the test then checks that file was indexed, and
relies on a FIFO (which would block a naive reader for ever) for a file that
cannot be read as a cable file.
"""

from __future__ import annotations

import gzip
import json
import lzma
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cableqa import indexer
from cableqa.cables import Report, read_paths
from cableqa.index import Index

from conftest import cable_record, teletype

HUGE_BYTES = 50 * 1024 * 1024
DEPTH = 60
CSV_ROW = '"{n}","{date}","{id}","Embassy Testville","CONFIDENTIAL","05TESTVILLE1|05TESTVILLE2","header","{body}"\n'


def record(ident: str, *paragraphs: str, **extra) -> dict:
    paragraphs = list(paragraphs) or [f"The harbour of {ident} is open."]
    return cable_record(ident, teletype(f"SUBJECT OF {ident}", paragraphs), **extra)


def line(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False) + "\n"


class Corpus:
    """The files of the test folder: what each bad one must be reported for, and the cables that must be indexed."""

    def __init__(self, root: Path):
        self.root = root
        self.good: dict[str, dict] = {}  # id -> record whose body must be the one indexed
        self.bad: list[tuple[str, str]] = []  # (file name or cable id, words its report must contain)
        self.dated: set[str] = set()  # ids kept without their impossible date
        self.gz: dict[str, dict] = {}  # records of the corrupt .gz: any indexed must be intact

    def write(self, name: str, data: bytes | str, *good: dict, bad: str | None = None) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        self.good.update((r["id"], r) for r in good)
        if bad:
            self.bad.append((Path(name).name, bad))
        return path


def build(root: Path) -> Corpus:
    c = Corpus(root)
    first = record("04GOOD1", "The longer text of the first good cable, kept over its shorter duplicate.")
    c.write("good.jsonl", line(first) + line(record("04GOOD2")) + line(record("04GOOD3")),
            first, record("04GOOD2"), record("04GOOD3"))
    c.write("dupes/again.jsonl", line(record("04GOOD1", "Shorter.")) + line(record("04DUPE2")), record("04DUPE2"),
            bad="duplicate id 04GOOD1")
    c.write("empty.jsonl", "", bad="empty file")
    c.write("blob.bin", bytes(range(256)) * 64, bad="binary file")

    # truncated CSV and JSON Lines: the rows before the cut are read
    body = teletype("CSV", ['The harbour master said \\"no\\" to the minister.'])  # backslash escapes
    csv_rows = "".join(CSV_ROW.format(n=i, id=f"05CSV{i}", date=d, body=body)
                       for i, d in [(1, "12/2/2005 9:08"), (2, "13/45/2005 9:08")])
    c.write("cables.csv", csv_rows + CSV_ROW.format(n=3, id="05CSV3", date="12/2/2005 9:08", body=body)[:90],
            *({"id": f"05CSV{i}", "body": body.replace('\\"', '"')} for i in (1, 2)), bad="broken CSV row")
    c.bad.append(("cables.csv", "not a valid date"))
    c.write("truncated.jsonl", line(record("04TRUNC1")) + line(record("04TRUNC2"))[:70], record("04TRUNC1"),
            bad="not valid JSON")

    # encodings: cp1252 is read with a warning, UTF-16 with a BOM silently
    cp = record("04CPW1", "The caf\u00e9 owner said \u201cno\u201d \u2013 twice.")
    c.write("cp1252.jsonl", line(cp).encode("cp1252"), cp, bad="Windows-1252")
    u16 = record("04UTF16", "Minister Nurk\u00e4dilov spoke.")
    c.write("utf16.jsonl", line(u16).encode("utf-16"), u16)

    # missing fields and impossible dates
    c.write("missing.jsonl", line(record("04MISS1")) + json.dumps({"body": "A body without an id."}) + "\n"
            + json.dumps({"id": "04NOBODY1", "origin": "Embassy Testville"}) + "\n", record("04MISS1"),
            bad="no cable id")
    c.bad.append(("missing.jsonl:3 (04NOBODY1)", "no body text"))
    c.write("dates.jsonl", line(record("04DATE1", created="2005-02-30T10:00:00")), record("04DATE1"),
            bad="not a valid date")
    c.dated |= {"04DATE1", "05CSV2"}

    # one 50 MB line, as JSON Lines and under an unknown extension (recognised as JSON Lines by its first byte)
    huge = b'{"id": "04HUGE1", "body": "' + b"A" * HUGE_BYTES + b'"}\n'
    c.write("huge.jsonl", huge, bad="over the 4,000,000 limit")
    c.write("huge.dump", huge, bad="over the 4,000,000 limit")

    # folders: 60 levels deep, a directory named like a file, symlink loops
    c.write("/".join(["deep"] + ["d"] * DEPTH + ["bottom.jsonl"]), line(record("04DEEP1")), record("04DEEP1"))
    c.write("folder.jsonl/inside.jsonl", line(record("04DIRFILE1")), record("04DIRFILE1"))
    c.write("loop/a.jsonl", line(record("04LOOP1")), record("04LOOP1"))
    os.symlink("..", root / "loop" / "up")
    c.bad.append(("loop/up", "symlink loop"))
    os.symlink("self.jsonl", root / "self.jsonl")
    c.bad.append(("self.jsonl", "Too many levels of symbolic links"))

    # unreadable: chmod 000 (root reads it anyway) and a FIFO
    locked = c.write("locked.jsonl", line(record("04LOCK1")))
    locked.chmod(0)
    if os.geteuid() == 0:
        c.good["04LOCK1"] = record("04LOCK1")
    else:
        c.bad.append(("locked.jsonl", "Permission denied"))
    os.mkfifo(root / "pipe.jsonl")
    c.bad.append(("pipe.jsonl", "not a regular file"))

    # compressed: a .xz cut mid-stream (the cables before the cut are read), and a .gz with bytes overwritten
    # mid-stream: deflate then decodes garbage up to the checksum, so the damaged member is reported and
    # whatever of it is indexed must be intact (the reader drops it: nothing)
    rng = random.Random(6)
    words = "harbour minister talks port storm fleet ambassador customs quay ferry".split()
    gz_recs = [record(f"04GZ{i}", " ".join(rng.choice(words) for _ in range(200))) for i in range(50)]
    data = bytearray(gzip.compress("".join(map(line, gz_recs)).encode()))
    data[len(data) // 2: len(data) // 2 + 16] = bytes(rng.randrange(256) for _ in range(16))
    c.write("corrupt.jsonl.gz", bytes(data), bad="compressed data is damaged")
    c.gz = {r["id"]: r for r in gz_recs}
    xz_recs = [record(f"04XZ{i}", " ".join(rng.choice(words) for _ in range(200))) for i in range(200)]
    data = lzma.compress("".join(map(line, xz_recs)).encode())
    cut = data[: len(data) // 2]
    kept = lzma.LZMADecompressor().decompress(cut).decode().split("\n")[:-1]  # complete lines before the cut
    assert 0 < len(kept) < len(xz_recs)
    c.write("cut.jsonl.xz", cut, *xz_recs[:len(kept)], bad="compressed data is damaged")
    return c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    c = build(tmp_path_factory.mktemp("bad-input"))
    yield c
    (c.root / "locked.jsonl").chmod(0o644)  # so that pytest can clean it up


def check_reported(corpus: Corpus, problems: list[str]) -> None:
    """Each bad file is named, with its reason, in one of the problem lines."""
    for name, reason in corpus.bad:
        assert any(name in p and reason in p for p in problems), f"{name} not reported with {reason!r}"


def check_indexed(corpus: Corpus, ix: Path) -> None:
    """Exactly the good cables are indexed, each with its own body; a damaged .gz adds nothing garbled."""
    index = Index(ix)
    ids = {r[0] for r in index.conn.execute("SELECT id FROM cables")}
    assert set(corpus.good) <= ids
    assert ids - set(corpus.good) <= set(corpus.gz)
    for ident in ids:
        row = index.conn.execute("SELECT body, created FROM cables WHERE id = ?", (ident,)).fetchone()
        expected = corpus.good.get(ident) or corpus.gz[ident]
        if "body" in expected:
            assert row["body"] == expected["body"], ident
        assert (row["created"] == "") == (ident in corpus.dated), ident
        assert index.cable(ident).paragraphs
    assert index.info()["cables"] == len(ids)


@pytest.fixture
def deadline():
    """A regression that blocks (reading the FIFO) fails the test instead of hanging the whole run."""
    def expire(*_):
        raise TimeoutError("reading the bad-input folder took over 120 s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_library_reports_bad_files_and_indexes_the_rest(corpus, tmp_path, make_fake, deadline):
    report = Report()
    t0 = time.perf_counter()
    stats = indexer.run([corpus.root], tmp_path / "ix", make_fake, report=report)
    assert time.perf_counter() - t0 < 60  # the 50 MB lines are refused, not parsed slowly
    check_reported(corpus, [str(p) for p in report.problems])
    check_indexed(corpus, tmp_path / "ix")
    summary = stats.summary()
    skipped = report.skipped
    assert f"skipped {len(skipped)}: " in summary
    for reason in ("empty file", "binary file, not text", "not valid JSON", "broken CSV row", "no cable id",
                   "no body text", "not a regular file", "duplicate id"):
        count = sum(p.reason.startswith(reason) for p in skipped)
        assert count and f"{count} × {reason}" in summary, reason


def test_a_huge_line_is_refused_quickly(corpus):
    """Reading the 50 MB line takes a moment, and yields nothing from it."""
    report = Report()
    t0 = time.perf_counter()
    assert not list(read_paths([corpus.root / "huge.jsonl"], report))
    assert time.perf_counter() - t0 < 10
    (problem,) = report.problems
    assert problem.where.endswith("huge.jsonl:1") and "52,428,8" in problem.reason


def test_a_folder_tree_deeper_than_the_recursion_limit(tmp_path):
    """Folders are walked without recursion: 100 levels more than Python's stack allows still read fine."""
    folders = [tmp_path / "deep"]
    for _ in range(sys.getrecursionlimit() + 100):
        folders.append(folders[-1] / "d")
    for folder in folders:
        folder.mkdir()
    (folders[-1] / "bottom.jsonl").write_text(line(record("04DEEP2")), encoding="utf-8")
    try:
        report = Report()
        assert [c.id for c in read_paths([tmp_path], report)] == ["04DEEP2"] and not report.problems
    finally:  # bottom-up: shutil.rmtree recurses too (Python < 3.12)
        (folders[-1] / "bottom.jsonl").unlink()
        for folder in reversed(folders):
            folder.rmdir()


@pytest.mark.slow
def test_cli_reports_bad_files_and_indexes_the_rest(corpus, tmp_path):
    """The real command, with the real model: exit 0, problems on stderr, summary on stdout."""
    ix = tmp_path / "ix"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "cableqa.cli", "index", str(corpus.root), "--index", str(ix), "-q"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    check_reported(corpus, run.stderr.splitlines())
    assert f"read {len(corpus.good) + 1} cables" in run.stdout  # + the duplicate of 04GOOD1
    assert "skipped " in run.stdout and "× empty file" in run.stdout and "warning(s) above" in run.stdout
    info = subprocess.run([sys.executable, "-m", "cableqa.cli", "info", "--index", str(ix), "--json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["cables"] == len(corpus.good)
    check_indexed(corpus, ix)
