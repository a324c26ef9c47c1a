"""Prepared cables: parsed paragraphs, chunks and the texts the model embeds, optionally in a process pool.

Everything the indexer does to a cable before the model sees it (paragraph
parsing, chunking with the model's token counter, context and acronym
spelling, the embedding input and its text key) is one pure function of the
cable, :func:`prepare_cable`, so it runs in worker processes as well as here:
:func:`prepare` gives the same records, in the same order, either way.  On a
GPU box the model embeds thousands of chunks a second, more than one Python
thread prepares; with ``workers`` processes preparation scales with cores.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from . import chunks as chunking
from . import layout
from .cables import Cable
from .embed import text_key

POOL_MIN_CABLES = 500  # fewer: prepared here (~7 ms a cable) sooner than worker processes start (~1 s each)
POOL_CHUNKSIZE = 8  # cables a worker prepares per task: fewer round trips, still an even spread


@dataclass(frozen=True)
class Prepared:
    """One cable ready for the store and the model: its chunks with their contexts and embedding inputs."""

    cable: Cable
    parsed: layout.Layout
    chunks: tuple[chunking.Chunk, ...]
    contexts: tuple[str, ...]  # per chunk: what the keyword index sees beside the text
    texts: tuple[str, ...]  # per chunk: what the model embeds
    spans: tuple[tuple[tuple[int, int], ...], ...]  # per chunk: its sentences in the text (cableqa.sentences)
    keys: tuple[str, ...]  # per chunk: text_key of the embedded text (reuses unchanged vectors)
    vectors: object = field(default=None, compare=False)  # per chunk, when an engine embedded them (numpy)
    sentences: object = field(default=None, compare=False)  # per chunk, its sentence vectors, the same way


def prepare_cable(cable: Cable, budget: int, count: Callable[[str], int]) -> Prepared:
    parsed, chunk_list = chunking.chunk_cable(cable, budget, count)
    terms = chunking.cable_terms(cable.subject, (ch.text for ch in chunk_list))
    contexts = tuple(chunking.context(cable, ch.section) for ch in chunk_list)
    inputs = [chunking.embedding_input(ctx, ch.text, terms) for ctx, ch in zip(contexts, chunk_list)]
    texts = tuple(text for text, _ in inputs)
    return Prepared(cable, parsed, tuple(chunk_list), contexts, texts, tuple(spans for _, spans in inputs),
                    tuple(text_key(t) for t in texts))


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_job: tuple[int, Callable[[str], int]] | None = None  # (budget, count) in a worker process


def _start_worker(budget: int, count: Callable[[str], int]) -> None:
    global _job
    _job = (budget, count)


def _prepare_in_worker(cable: Cable) -> Prepared:
    assert _job is not None
    return prepare_cable(cable, *_job)


def prepare(cables: Sequence[Cable], budget: int, count: Callable[[str], int], workers: int = 1
            ) -> Iterator[Prepared]:
    """:func:`prepare_cable` of each cable, in order; in ``workers`` processes when there are enough cables.

    ``count`` must pickle for the pool (:meth:`cableqa.embed.Embedder.token_counter`).  Workers are
    spawned, not forked: the parent holds the model's threads, which a fork would copy mid-work."""
    if workers <= 1 or len(cables) < POOL_MIN_CABLES:
        for cable in cables:
            yield prepare_cable(cable, budget, count)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_start_worker, initargs=(budget, count)) as pool:
        yield from pool.imap(_prepare_in_worker, cables, chunksize=POOL_CHUNKSIZE)



def prepare_for(cables: Sequence[Cable], budget: int, embedder, workers: int = 1) -> Iterator[Prepared]:
    """:func:`prepare` counting with ``embedder``'s tokenizer: the indexer's default preparer."""
    return prepare(cables, budget, embedder.token_counter(), workers)
