"""Cables added from the page (issue 18): does the chat keep answering while an upload is indexed,
and does killing the server mid-upload lose anything?

Serves ``cableqa serve --index I --corpus C`` in a subprocess (the corpus starts with the seed
cable), then through the page's own endpoints (gradio_client ``/upload`` and ``/ask``):

1. asks Q dev questions with nothing indexing (the baseline, same run);
2. uploads N real cables of the subset as one JSON Lines file and asks dev questions while they
   are indexed, until one uploaded cable's subject finds it (upload to searchable);
3. uploads N other cables, kills the server (SIGKILL) while it indexes them, and checks that the
   index still opens with the cables it had, that the file is kept in the corpus, and that the
   same ``cableqa serve`` started again finishes the job.

    python benchmarks/upload.py [-n 100] [--backend torch] [--out benchmarks/results/upload.txt]
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c


def cables(first: int, n: int) -> list[dict]:
    with lzma.open(c.SUBSET, "rt", encoding="utf-8") as f:
        return [json.loads(line) for i, line in enumerate(f) if first <= i < first + n]


def count(index: Path) -> int:
    from cableqa.search import Searcher

    searcher = Searcher(index)
    try:
        return searcher.info()["cables"]
    finally:
        searcher.index.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100, help="cables per upload (default 100)")
    ap.add_argument("-q", type=int, default=10, help="baseline questions (default 10)")
    ap.add_argument("--backend", help="embedding backend of the index (default: the automatic choice)")
    ap.add_argument("--out")
    args = ap.parse_args()
    from gradio_client import Client, handle_file

    out = c.Output("Upload while answering, and a kill mid-upload (benchmarks/upload.py)", args.out)
    questions = [json.loads(line)["q"] for line in open(c.DEV, encoding="utf-8")]
    first, second = cables(1000, args.n), cables(1000 + args.n, args.n)
    with tempfile.TemporaryDirectory(prefix="cableqa-upload-") as name:
        tmp = Path(name)
        tempfile.tempdir = name  # gradio_client downloads through the temp folder: keep it in ours
        corpus, index = tmp / "corpus", tmp / "ix"
        corpus.mkdir()
        seed = c.ROOT / "corpus" / "05ALMATY4281.txt"
        (corpus / seed.name).write_bytes(seed.read_bytes())
        env = {**os.environ, "GRADIO_TEMP_DIR": str(tmp / "gradio"), "GRADIO_ANALYTICS_ENABLED": "False",
               "PYTHONPATH": os.pathsep.join([str(c.ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        build = [sys.executable, "-m", "cableqa.cli", "index", str(corpus), "--index", str(index)]
        subprocess.run(build + (["--backend", args.backend] if args.backend else []), env=env, check=True,
                       capture_output=True)
        files = []
        for label, batch in (("first", first), ("second", second)):
            path = tmp / f"{label}-upload.jsonl"
            path.write_text("".join(json.dumps(cable) + "\n" for cable in batch), encoding="utf-8")
            files.append(path)

        proc, url = c.start_serve(["--index", str(index), "--corpus", str(corpus)], tmp, env)
        client = Client(url, verbose=False, download_files=name)

        def ask(question: str) -> tuple[float, str]:
            t = time.perf_counter()
            result = client.predict(question, [], "", "", "", "any", "", api_name="/ask")
            return time.perf_counter() - t, json.dumps(result)

        ask(questions[0])  # the model's first call
        idle = [ask(q)[0] for q in questions[1:args.q + 1]]

        target = first[-1]  # the last cable of the upload: searchable only once the whole file is in
        t0 = time.perf_counter()
        client.predict([handle_file(str(files[0]))], api_name="/upload")
        busy, found, i = [], None, 0
        while found is None and time.perf_counter() - t0 < 900:
            took, _ = ask(questions[1 + i % args.q])
            busy.append(took)
            i += 1
            if target["id"] in ask(target["subject"])[1]:
                found = time.perf_counter() - t0
        before_kill = count(index)

        client.predict([handle_file(str(files[1]))], api_name="/upload")
        time.sleep(3)  # indexing the second file has begun, far from done
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after_kill = count(index)
        kept = sorted(p.name for p in (corpus / "uploads").iterdir())
        # the next run: the same `cableqa serve` started again finishes the upload it was killed in
        t1 = time.perf_counter()
        proc, url = c.start_serve(["--index", str(index), "--corpus", str(corpus)], tmp, env)
        client = Client(url, verbose=False, download_files=name)
        late, resumed = second[-1], None
        while resumed is None and time.perf_counter() - t1 < 900:
            if late["id"] in ask(late["subject"])[1]:
                resumed = time.perf_counter() - t1
            else:
                time.sleep(1)
        proc.terminate()
        proc.wait()
        after_rerun = count(index)

    p50 = c.percentile(idle, 50)
    out.print(f"{args.n} real cables per upload (subset lines 1000+), seed cable indexed first; "
              f"questions through gradio_client /ask",
              c.table(["measure", "p50 ms", "max ms", "n", "p50 ratio to idle"], [
                  ["question, nothing indexing (baseline)", c.ms(p50), c.ms(max(idle)), len(idle), "1.00x"],
                  ["question while the upload is indexed", c.ms(c.percentile(busy, 50)), c.ms(max(busy)),
                   len(busy), c.ratio(c.percentile(busy, 50), p50)]]), "",
              "upload -> last uploaded cable found by its subject: "
              + (f"{found:.1f} s" if found is not None else "not within 900 s"),
              f"cables after the first upload: {before_kill} (expected {1 + args.n})",
              f"SIGKILL 3 s into the second upload: the index opens with {after_kill} cables "
              f"(the previous generation: {'PASS' if after_kill == before_kill else 'FAIL'}); kept in the corpus: "
              f"{', '.join(kept)}",
              "`cableqa serve` started again: the second upload's last cable found after "
              + (f"{resumed:.1f} s" if resumed is not None else "900 s: not found")
              + f", {after_rerun} cables (expected {1 + 2 * args.n}: "
              f"{'PASS' if after_rerun == 1 + 2 * args.n else 'FAIL'})")
    out.save()


if __name__ == "__main__":
    main()
