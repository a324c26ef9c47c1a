"""Sentence vectors of a paragraph, pooled from the model pass that embeds the paragraph.

A paragraph's vector (the mean of its token states) says what the paragraph is about; the one
sentence that answers a question is diluted in it, most of all in a long paragraph or a
summary that touches everything.  So the indexer also keeps one vector per sentence: the mean
of the token states *inside that sentence*, from the same forward pass that embeds the whole
input (cable context and paragraph).  This is "late chunking" (Günther et al., 2024): each
sentence vector is read in its paragraph's context, which embedding the sentence alone is not,
and it costs no second model pass.  The ``sentence`` signal (:mod:`cableqa.signals`) reorders
the best candidates by their best sentence's cosine with the question.

Measured before building it (subset-3000, stock MiniLM, the 20 best candidates reordered, weight 1):
late-chunked sentences took validation R@5 from 0.845 to 0.915 and R@1 from 0.408 to 0.451; the
same sentences embedded alone reached only 0.873 and 0.465, and lost a dev check question.

Stored as float16 (the signal only ranks 20 candidates by them; halving the bytes changes
no ranking), one blob per chunk, in the chunk's row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .text import sentence_spans

Span = tuple[int, int]  # (start, end) characters of an embedding input


def pool(states: np.ndarray, offsets: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """One normalised vector per span: the mean of the ``states`` (tokens × dim) whose character
    ``offsets`` (tokens × 2; special tokens (0, 0)) lie inside it.  A span with no token (cut off
    by the model's input window) gets none, so the result has at most ``len(spans)`` rows."""
    offsets = np.asarray(offsets).reshape(-1, 2)
    states = np.asarray(states, dtype=np.float32)[: len(offsets)]
    real = offsets[:, 1] > offsets[:, 0]
    rows = []
    for start, end in spans:
        inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        if inside.any():
            v = states[inside].mean(axis=0)
            rows.append(v / max(float(np.linalg.norm(v)), 1e-12))
    return np.stack(rows) if rows else none(states.shape[1])


def none(dim: int) -> np.ndarray:
    """No sentence vectors (a text whose spans all fell outside the window, or were not asked for)."""
    return np.zeros((0, dim), dtype=np.float32)


def pack(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float16).tobytes()


def unpack(blob: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).reshape(-1, dim).astype(np.float32)


def placed(text: str, windows: Sequence[tuple[str, np.ndarray]]) -> list[tuple[int, int, np.ndarray]]:
    """Where a paragraph's stored sentence vectors lie in ``text`` (the paragraph, or the one window
    shown of a long one): (start, end, vector) for each sentence of each chunk in ``windows``
    ((chunk text, its sentence vectors)) whose text ``text`` holds; the k-th vector is the k-th span
    the indexer embedded (:func:`cableqa.chunks.embedding_input`)."""
    out = []
    for window, vectors in windows:
        at = text.find(window)
        if at >= 0:
            out += [(at + a, at + b, v) for (a, b), v in zip(sentence_spans(window), vectors)]
    return out
