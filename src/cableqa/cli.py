"""The ``cableqa`` command: a thin layer over the library.  Heavy imports happen inside commands.

``index`` is in :mod:`cableqa.cli_index`, ``adapt`` and ``serve`` in :mod:`cableqa.cli_model`.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import click

from . import __version__
from .cli_common import INDEX_HELP, MODEL_HELP, fail, open_searcher, settings
from .cli_index import index
from .cli_model import adapt, serve


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


for _command in (index, adapt, serve):
    cli.add_command(_command)


def _question_lines(stream, skipped: list[int]):
    """Each line of ``stream`` that is a JSON object with a "q" string and, if any, a list of strings
    as "history"; any other non-blank line is skipped with a message, and its number added to ``skipped``."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
            if not isinstance(q, dict) or not isinstance(q.get("q"), str):
                raise ValueError('not an object with a "q" string')
            history = q.get("history") or []
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                raise ValueError('"history" is not a list of strings')
        except ValueError as exc:  # a JSONDecodeError is one
            click.echo(f"stdin line {n}: skipped ({exc})", err=True)
            skipped.append(n)
            continue
        yield q


@cli.command()
@click.argument("question", required=False)
@click.option("--index", "index_path", type=click.Path(path_type=Path), help=INDEX_HELP)
@click.option("-k", "--k", "k", default=10, show_default=True, help="How many paragraphs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--jsonl", is_flag=True, help='Batch: read {"qid","q","history"} lines on stdin, write hits per line.')
@click.option("--batch", default=64, show_default=True, type=click.IntRange(min=1),
              help="With --jsonl: questions read and embedded together, in one model pass (1: each line is "
                   "answered as soon as it arrives, for a program that waits for every answer).")
@click.option("--origin", help='Sending post, fuzzy ("Almaty" matches "US Office Almaty").')
@click.option("--since", help="Earliest date, YYYY or YYYY-MM or YYYY-MM-DD.")
@click.option("--until", help="Latest date, YYYY or YYYY-MM or YYYY-MM-DD.")
@click.option("--classification", help="e.g. SECRET, CONFIDENTIAL, UNCLASSIFIED.")
@click.option("--tag", "tags", multiple=True, help="TAGS code, e.g. PTER (repeatable).")
@click.option("--cable", "cable_ids", multiple=True, help="Only this cable id (repeatable).")
@click.option("--model", help=MODEL_HELP)
def search(question, index_path, k, as_json, jsonl, batch, origin, since, until, classification, tags, cable_ids, model):
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

    s = settings(index=index_path, model=model)
    searcher = open_searcher(s)
    try:
        flags = Filters.from_flags(origin=origin, since=since, until=until, classification=classification,
                                   tags=tags, cable_ids=cable_ids)
    except ValueError as exc:
        fail(exc)
    if jsonl:
        skipped: list[int] = []
        questions = _question_lines(sys.stdin, skipped)
        while block := list(itertools.islice(questions, batch)):
            searcher.embed_ahead((q["q"], q.get("history") or ()) for q in block)  # one model pass
            for q in block:
                result = searcher.search(q["q"], history=q.get("history") or (), filters=flags, k=k)
                click.echo(json.dumps({"qid": q.get("qid"), "hits": [h.to_json() for h in result.hits]},
                                      ensure_ascii=False))
        if skipped:
            click.echo(f"skipped {len(skipped)} stdin line(s): {', '.join(map(str, skipped[:20]))}"
                       + (" ..." if len(skipped) > 20 else ""), err=True)
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
        fail(exc)
    out = {}
    if hits_file:
        try:
            given = {r.get("qid"): r.get("hits") or [] for r in read_jsonl(hits_file)}
        except (ValueError, json.JSONDecodeError) as exc:
            fail(exc)
        out[f"hits from {hits_file}"] = score(qs, lambda q: given.get(q.get("qid"), []))
    else:
        s = settings(index=index_path)
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

    s = settings(index=index_path)
    result = checker.check(s.index)
    for key, value in result.facts.items():
        click.echo(f"{key:>11}: {value}")
    for problem in result.problems:
        click.secho(f"problem: {problem}", fg="red", err=True)
    if result.problems and repair and result.repairable:
        try:
            click.echo(f"repaired into {checker.repair(s.index)}")
        except IndexError_ as exc:
            fail(exc)
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

    s = settings(index=index_path)
    try:
        data = Index(s.index).info()
    except IndexError_ as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key:>15}: {value}")


def main():  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover - `python -m cableqa.cli`
    main()
