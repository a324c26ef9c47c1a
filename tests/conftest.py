"""Shared fixtures: a fake embedder for fast unit tests, tiny fixture cables, the shared corpus."""

from __future__ import annotations

import hashlib
import lzma
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "05ALMATY4281.txt"
SHARED = ROOT.parent / "shared"
SUBSET = SHARED / "cables" / "subset-3000.jsonl.xz"
FULL = SHARED / "cables" / "cables.jsonl.xz"
DEV = SHARED / "eval" / "dev.jsonl"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def need_shared(path: Path = SUBSET) -> None:
    if not path.exists():
        pytest.skip(f"needs {path} (the shared cable corpus beside the checkout); not present here")


class FakeEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are close. For fast tests only."""

    model = "fake-bow"
    backend = "torch"
    fingerprint = ""
    max_tokens = 256
    dim = 64

    def __init__(self, *args, **kwargs):
        self.calls = 0
        self.encoded = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def token_counter(self):
        return self.count_tokens

    def known_word(self, word: str) -> bool:
        return len(word) <= 6  # short words are "dictionary" words, long ones names

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"[a-z0-9]+", text.lower()):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode(self, texts, progress=None, block=256):
        self.calls += 1
        self.encoded += len(texts)
        out = np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        if progress:
            progress(len(texts))
        return out

    def encode_parts(self, texts, spans, progress=None, block=256):
        parts = [np.stack([self._vec(t[a:b]) for a, b in sp]) if sp else np.zeros((0, self.dim), np.float32)
                 for t, sp in zip(texts, spans)]
        return self.encode(texts, progress, block), parts

    def encode_query(self, text: str) -> np.ndarray:
        return self._vec(text)


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def make_fake():
    """A ``make_embedder`` for indexer.run that records the embedder it made."""
    made = []

    def make(manifest):
        e = FakeEmbedder()
        made.append(e)
        return e

    make.made = made
    return make


def cable_record(ident: str, body: str, **extra) -> dict:
    rec = {"id": ident, "origin": "Embassy Testville", "created": "2004-03-05T10:00:00",
           "classification": "CONFIDENTIAL", "tags": ["PREL", "XX"], "subject": f"SUBJECT OF {ident}",
           "references": [], "body": body}
    rec.update(extra)
    return rec


def teletype(subject: str, paragraphs: list[str], post: str = "TESTVILLE 000123") -> str:
    """A body in the teletype layout (banner, SIPDIS, header fields, numbered marked paragraphs)."""
    lines = [f"C O N F I D E N T I A L {post} ", " ", "SIPDIS ", " ", "E.O. 12958: DECL: 03/05/2014 ",
             "TAGS: PREL, XX ", f"SUBJECT: {subject} ", " ", "Classified By: Ambassador X, reasons 1.4 (b) and (d) ",
             " "]
    for i, p in enumerate(paragraphs, 1):
        lines.append(f"{i}. (C) {p} ")
        lines.append(" ")
    lines.append("SMITH")
    return "\n".join(lines)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def real_cables():
    """A few thousand real cables from the shared subset (skips when absent)."""
    need_shared()
    with lzma.open(SUBSET, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]
