"""Incremental cost: adding 10 cables to an index, and pruning 10, against a full rebuild.

Measures, with the library (``cableqa.indexer.run``) on a scratch index (a copy
of --index, or one built fresh from N subset cables):

1. add: 10 cables not yet in the index (from the subset, else from
   cables.jsonl.xz), in a new source file;
2. full rebuild of that same index (``rebuild=True``: re-reads the recorded
   sources and re-embeds everything), same backend;
3. prune: the new file deleted, ``prune=True`` (as ``cableqa index --prune``):
   removes the 10 and must re-embed nothing.

Each run's time is split into stages (as ingest.py does).  The model is loaded
once, before: its load time is a fixed cost of every `cableqa index` process,
shown separately and in none of the runs.
Baseline: the full rebuild, same run.  Target: add <= 2 % of the rebuild;
prune embeds 0 chunks.

    python benchmarks/incremental.py [--quick] [--index DIR | -n CABLES] [--backend B] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from contextlib import closing
from pathlib import Path

import _common as c


def scratch_copy(index: Path, dest: Path) -> None:
    """The live generation of ``index`` (and its ONNX export) as a new index directory ``dest``."""
    from cableqa import store

    gen = store.IndexDir(index).current()
    if gen is None:
        raise SystemExit(f"no index at {index}")
    dest.mkdir(parents=True)
    shutil.copytree(gen, dest / gen.name)
    if (index / "onnx").is_dir():
        shutil.copytree(index / "onnx", dest / "onnx")
    (dest / store.CURRENT).write_text(gen.name + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="work on a copy of this index (default: build one fresh)")
    ap.add_argument("-n", "--cables", type=int, default=1000, help="cables of the fresh index (default 1000)")
    ap.add_argument("--add", type=int, default=10, help="cables to add, then prune (default 10)")
    ap.add_argument("--backend", choices=["torch", "bf16", "onnx", "onnx-int8"],
                    help="backend of a fresh index (default: what `cableqa index` picks here)")
    ap.add_argument("--quick", action="store_true", help="a fresh index of 40 cables: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.index, args.cables = None, 40

    from cableqa import config, embed, indexer, store
    from cableqa.cables import Report

    what = f"a copy of {args.index}" if args.index else f"a fresh index of {args.cables} subset cables"
    out = c.Output(f"incremental indexing: add {args.add} / prune {args.add} cables vs a full rebuild, on {what}",
                   args.out, args.quick)
    with tempfile.TemporaryDirectory(prefix="cableqa-incremental-") as tmp:
        tmp = Path(tmp)
        ix = tmp / "index"
        if args.index:
            scratch_copy(args.index, ix)
            with closing(store.connect(store.IndexDir(ix).current() / store.DB, readonly=True)) as conn:
                meta = store.read_meta(conn)
                have = {r[0] for r in conn.execute("SELECT id FROM cables")}
            embedder = embed.embedder_factory(config.resolve(index=ix))(meta)  # the index's model and backend
        else:
            records = list(itertools.islice(c.raw_records(c.SUBSET), args.cables))
            have = {cid for cid, _ in records}
            embedder = embed.embedder_factory(config.resolve(index=ix, backend=args.backend))(None)
        t = time.perf_counter()
        embedder.dim  # loads the model
        load = time.perf_counter() - t
        use = lambda manifest: embedder  # noqa: E731 - the one loaded model, for every run
        if not args.index:
            base = c.write_jsonl([line for _, line in records], tmp / "base.jsonl")
            initial = indexer.run([base], ix, use, report=Report())
            out.print(f"built the fresh index: {initial.cables} cables, {initial.chunks} chunks in "
                      f"{initial.seconds:.1f} s")
        new = [line for cid, line in itertools.chain(c.raw_records(c.SUBSET), c.raw_records(c.CORPUS))
               if cid not in have][:args.add]
        new_file = c.write_jsonl(new, tmp / "new.jsonl")

        runs = {}
        for name, sources, options in [("add", [new_file], {}), ("rebuild", [], {"rebuild": True}),
                                       ("prune", [], {"prune": True})]:
            if name == "prune":
                new_file.unlink()  # "remove them from the source"
            with c.index_stages(embedder) as sw:
                stats = indexer.run(sources, ix, use, report=Report(), **options, workers=1)
            runs[name] = (stats, sw)

    rebuild = runs["rebuild"][0].seconds
    add, prune = runs["add"][0], runs["prune"][0]
    out.print(f"index: {runs['rebuild'][0].cables} cables, {runs['rebuild'][0].chunks} chunks; backend "
              f"{embedder.backend}, model {embedder.model}", "",
              c.table(["operation", "seconds", "cables", "chunks embedded", "ratio to rebuild"], [
                  ["full rebuild (baseline)", f"{rebuild:.2f}", runs["rebuild"][0].cables,
                   runs["rebuild"][0].chunks_embedded, "100%"],
                  [f"add {args.add} cables", f"{add.seconds:.2f}", add.new, add.chunks_embedded,
                   f"{100 * add.seconds / rebuild:.2f}%"],
                  [f"prune {args.add} cables (--prune)", f"{prune.seconds:.2f}", prune.removed,
                   prune.chunks_embedded, f"{100 * prune.seconds / rebuild:.2f}%"],
                  ["model load (fixed per process, in none)", f"{load:.2f}", "", "", ""]]), "",
              f"add <= 2% of rebuild: {'PASS' if add.seconds <= 0.02 * rebuild else 'FAIL'}; "
              f"prune re-embeds nothing: {'PASS' if prune.chunks_embedded == 0 else 'FAIL'}", "",
              "stages, seconds (exclusive):")
    stage = {name: c.stage_rows(sw, stats.seconds) for name, (stats, sw) in runs.items()}
    out.print(c.table(["stage", "add", "prune", "rebuild"],
                      [[a[0], a[1], p[1], r[1]] for a, p, r in zip(stage["add"], stage["prune"], stage["rebuild"])]))
    out.save()


if __name__ == "__main__":
    main()
