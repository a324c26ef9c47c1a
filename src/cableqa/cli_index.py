"""``cableqa index``: add cables to an index, and optionally keep watching their folders."""

from __future__ import annotations

from pathlib import Path

import click

from . import config as cfg
from .cli_common import INDEX_HELP, MODEL_HELP, fail, settings
from .progress import bar


@click.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("--model", help=MODEL_HELP)
@click.option("--backend", type=click.Choice(list(cfg.BACKENDS)),
              help="Embedding backend for a new index [env CABLEQA_BACKEND; default: bf16 where the CPU/GPU "
                   "has it, else torch; onnx-int8-mixed is faster without bf16]. Queries always use the index's "
                   "backend.")
@click.option("--device", help="torch device: auto, cpu, cuda, cuda:1 [env CABLEQA_DEVICE; default auto].")
@click.option("--window", type=int, help="Word pieces per chunk (default: the model's input window). Changing it "
                                       "re-chunks the index, embedding only texts that changed.")
@click.option("--prune", is_flag=True, help="Drop indexed cables whose source file is gone or no longer has them.")
@click.option("--rebuild", is_flag=True, help="Start a fresh index (the old one stays live until the new is done).")
@click.option("--wait", is_flag=True, help="If another index run holds the lock, wait for it instead of stopping.")
@click.option("--workers", type=int, help="Processes that parse and chunk cables [env CABLEQA_WORKERS; default: "
                                         "the cores]; with --engine ray, Ray actors that also embed [default: one "
                                         "per GPU, else one per 2 CPUs of the cluster].")
@click.option("--engine", type=click.Choice(["local", "ray"]),
              help="local: this machine [default]; ray: a Ray cluster (RAY_ADDRESS, else a local one; needs "
                   "pip install 'cableqa[ray]') [env CABLEQA_ENGINE].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--watch", is_flag=True, help="Then keep watching the folders among SOURCES (default: the corpus folder, "
                                           "env CABLEQA_CORPUS) and index files added, changed or removed there.")
def index(sources, index_path, model, backend, device, window, prune, rebuild, wait, workers, engine, quiet,
          watch):
    """Add new and changed cables from SOURCES (files or folders) to the index.

    Reads cable pages (.txt), cables.csv dumps and JSON Lines, plain or .gz/.xz,
    folders recursively. Unchanged cables are not re-embedded; bad files are
    reported and skipped. With no SOURCES, re-reads the files the index came from.

    \b
    Examples:
        cableqa index corpus/
        cableqa index ../shared/cables/subset-3000.jsonl.xz new-cables/
        cableqa index --rebuild --backend onnx-int8-mixed
        cableqa index --watch corpus/
        cableqa index big-dump.jsonl.xz --engine ray --workers 8
    """
    from .cables import Report
    from .embed import EmbedError, embedder_factory
    from .indexer import run
    from .store import IndexError_

    s = settings(index=index_path, model=model, backend=backend, device=device, workers=workers, engine=engine)
    if watch and not sources:
        sources = (s.corpus,)
    report = Report(echo=True)
    extra = {}
    if s.engine == "ray":
        from .ray_engine import preparer

        extra = {"preparer": preparer(s.workers)}
    with bar(quiet, "cable", "embedding") as progress:
        try:
            stats = run(list(sources), s.index, embedder_factory(s), prune=prune, rebuild=rebuild, wait=wait,
                        report=report, progress=progress, window=window, workers=s.workers, **extra)
        except (IndexError_, OSError, EmbedError) as exc:
            fail(exc)
    click.echo(stats.summary())
    _ready_for_questions(s, quiet)
    if watch:
        _watch([Path(p) for p in sources if Path(p).is_dir()], s, quiet)


def _ready_for_questions(s: cfg.Settings, quiet: bool) -> None:
    """Load the model that embeds this index's questions where it is not the index's own (an ONNX
    export, made once per index), so that the first search does not wait for it."""
    from .search import Searcher

    searcher = Searcher(s.index, device=s.device, query_backend=s.query_backend)
    if searcher.question_backend != searcher.index.manifest.backend:
        if not quiet:
            click.echo(f"questions are embedded with {searcher.question_backend} (the same weights, faster for "
                       "one question); loading it (exported once per index)", err=True)
        searcher.embedder  # loading it runs a first question through it (Searcher.embedder)
    searcher.index.close()



def _watch(folders: list[Path], s: cfg.Settings, quiet: bool) -> None:
    """Index what changes in ``folders`` until interrupted (``cableqa index --watch``)."""
    import time

    from .embed import embedder_factory
    from .ingest import Ingest
    from .watch import watch_into

    if not folders:
        raise click.UsageError("--watch needs a folder among SOURCES (or a corpus folder that exists)")
    ingest = Ingest(s.index, embedder_factory(s), folders[0])
    watchers = [watch_into(ingest, folder, catch_up=False) for folder in folders]
    click.echo(f"watching {', '.join(map(str, folders))}; Ctrl-C to stop", err=True)
    last = None
    try:
        while True:
            time.sleep(0.5)
            p = ingest.snapshot()
            if p.state in ("done", "failed") and p.finished != last:
                last = p.finished
                for problem in p.problems:
                    click.echo(str(problem), err=True)
                if not quiet or p.state == "failed":
                    click.echo(f"{p.what}: {p.summary}", err=p.state == "failed")
    except KeyboardInterrupt:
        pass
    finally:
        for w in watchers:
            w.stop()
        ingest.close()
