"""``cableqa adapt`` and ``cableqa serve``: fine-tune the index's model; the chat UI."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import click

from .cli_common import INDEX_HELP, fail, settings
from .progress import bar


@click.command()
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

    s = settings(index=index_path, device=device)
    # absolute: the index records this path as its model, and may be served from another folder
    index_dir = s.index.resolve()
    out = (out or index_dir.with_name(index_dir.name + "-model")).resolve()
    try:
        index = Index(s.index)
    except IndexError_ as exc:
        fail(exc)
    with closing(index):
        base = index.manifest.model
        if Path(base).resolve() == out:  # its stored vectors would no longer match the queries' vectors
            raise click.ClickException(f"{out} is the model this index was built with; "
                                       "write the new model to another folder (--out)")
        training = adapting.make_pairs(index.whole_paragraphs(), pairs, seed=seed, batch=batch, group=group)
    click.echo(f"{len(training)} pairs from {len({p.cable_id for p in training})} cables; base model {base}")
    with bar(quiet, "batch", "adapting") as progress:
        try:
            meta = adapting.train(base, training, out, batch=batch, device=s.device, seed=seed,
                                  progress=lambda step, steps, loss: progress(step, steps, loss=f"{loss:.3f}"),
                                  about={"group": group, "index": str(s.index)})
        except (adapting.AdaptError, OSError) as exc:
            fail(exc)
    click.echo(f"wrote {out} ({meta['pairs']} pairs, {meta['seconds']:.0f} s, loss "
               f"{meta['loss_first_tenth']:.3f} -> {meta['loss_last_tenth']:.3f})\n"
               f"re-embed with it: cableqa index --rebuild --index {s.index} --model {out}")


@click.command()
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

    s = settings(index=index_path, corpus=corpus, host=host, port=port, auth=auth)
    try:
        ui.serve(s, watch=watch)
    except ui.ServeError as exc:
        fail(exc)
