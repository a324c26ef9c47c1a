"""``cableqa index --engine ray``: cables prepared and embedded on a Ray cluster, written here.

The build is :func:`cableqa.indexer.run` with another preparer: batches of
cables go, in order, to Ray actors that each hold the index's model (same
model, same backend, same chunking), and come back as prepared cables with
their vectors.  This process stays the one writer: it holds the index lock,
reuses the vectors of unchanged texts, writes SQLite, FAISS and the keyword
index, and publishes the new generation atomically, as a local build does.

Cluster: ``RAY_ADDRESS`` when set (``ray start --head`` on one box, ``ray
start --address=HEAD:6379`` on the others; see docs/scaling.md), else a local
Ray started for this run.  Where the cluster has GPUs, one actor per GPU embeds
on CUDA; else one actor per ``CPUS_PER_ACTOR`` cores (or ``workers`` actors).
Needs the optional extra: ``pip install 'cableqa[ray]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from .cables import Cable
from .embed import Embedder, load_embedder
from .errors import EmbedError
from .prepare import Prepared, prepare_cable

CPUS_PER_ACTOR = 2  # model threads per CPU actor: torch and ONNX Runtime scale well to 2, less beyond
CABLES_PER_TASK = 48  # ~450 chunks: big enough for length-sorted batches, small enough to spread


class _Worker:
    """A Ray actor: prepares a batch of cables and embeds their chunks with its own copy of the model."""

    def __init__(self, model: str, backend: str, device: str, cache_dir: str, threads: int):
        # the batch size follows the actor's own device (embed.batch_size_for), not the writer's
        self.embedder = load_embedder(model, backend, device=device, cache_dir=cache_dir, threads=threads)
        self.count = self.embedder.token_counter()  # loads the model

    def fingerprint(self) -> str:
        return self.embedder.fingerprint

    def run(self, cables: list[Cable], budget: int) -> list[Prepared]:
        preps = [prepare_cable(cable, budget, self.count) for cable in cables]
        vectors, parts = self.embedder.encode_parts([text for p in preps for text in p.texts],
                                                    [spans for p in preps for spans in p.spans])
        out, start = [], 0
        for p in preps:
            end = start + len(p.texts)
            out.append(replace(p, vectors=vectors[start:end], sentences=parts[start:end]))
            start = end
        return out


def connect():
    """(the ``ray`` module connected: to ``RAY_ADDRESS`` if set, else to a Ray started here; whether
    this call started it, so it shuts it down)."""
    try:
        import ray
    except ImportError as exc:
        raise EmbedError("--engine ray needs Ray: pip install 'cableqa[ray]'") from exc
    if ray.is_initialized():
        return ray, False
    address = os.environ.get("RAY_ADDRESS")
    package = str(Path(__file__).resolve().parent)  # a real cluster's nodes get this cableqa's code
    ray.init(address=address or None, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"py_modules": [package]} if address else None)
    return ray, True


def preparer(workers: int | None = None) -> Callable[..., Iterator[Prepared]]:
    """A ``preparer`` for :func:`cableqa.indexer.run` that prepares and embeds on Ray actors with the
    index's model and backend; ``workers``: actors (default: one per GPU, else per CPUS_PER_ACTOR cores)."""

    def run(cables: Sequence[Cable], budget: int, embedder: Embedder, _local_workers: int) -> Iterator[Prepared]:
        ray, started = connect()
        from ray.util import ActorPool

        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        if gpus:
            actors, threads, options, device = workers or gpus, 1, {"num_gpus": 1, "num_cpus": 1}, "cuda"
        else:
            actors = workers or max(1, cpus // CPUS_PER_ACTOR)
            threads = max(1, cpus // actors)
            options, device = {"num_cpus": threads}, "cpu"
        cache = str(embedder.cache_dir or Path.home() / ".cache" / "cableqa" / "onnx")
        remote = ray.remote(_Worker)
        pool = [remote.options(**options).remote(embedder.model, embedder.backend, device, cache, threads)
                for _ in range(actors)]
        mine = embedder.fingerprint
        for theirs in ray.get([a.fingerprint.remote() for a in pool]):
            if theirs != mine:
                raise EmbedError(f"a Ray worker's {embedder.backend} model ({theirs}) differs from this "
                                 f"index's ({mine}); use the same cableqa and onnxruntime versions everywhere")
        tasks = [list(cables[i:i + CABLES_PER_TASK]) for i in range(0, len(cables), CABLES_PER_TASK)]
        try:
            for batch_out in ActorPool(pool).map(lambda actor, task: actor.run.remote(task, budget), tasks):
                yield from batch_out
        finally:
            for actor in pool:
                ray.kill(actor)
            if started:
                ray.shutdown()

    return run
