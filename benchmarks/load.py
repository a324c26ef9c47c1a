"""Load on the chat server: concurrent browser-like sessions asking questions at once.

Starts ``cableqa serve`` on an index (or uses a running server, ``--url``),
waits until it answers and warms it with one question, then for 1, 4 and 16
concurrent clients runs a fixed time window in which each client (a thread
with its own ``gradio_client.Client``, i.e. its own session) asks dev
questions through the ``/ask`` endpoint back to back, each in a fresh
conversation.  When the window closes, requests in flight finish and count.

Per level it reports requests, errors (exceptions, and answers that are the
chat's "Sorry, this question failed"), p50 and p99 latency as the client
sees it (Gradio's queue wait included), throughput, and each p50 over the
1-client p50 of the same run.  It prints the machine and the queue settings
of ``ui.build_app`` (the server's concurrency is those settings plus the
Engine's one-request-at-a-time lock).  Acceptance: 0 errors at 16 clients.

    python benchmarks/load.py [--index /work/ix/sub | --url http://127.0.0.1:7860/]
                              [--seconds 12] [--max-requests 300] [--quick] [--out benchmarks/results/load.txt]
"""

from __future__ import annotations

import argparse
import html
import inspect
import json
import os
import re
import shutil
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import _common as c

LEVELS = (1, 4, 16)


def queue_settings() -> str:
    """The ``demo.queue(...)`` call of ui.build_app, as written there."""
    from cableqa import ui

    found = re.search(r"demo\.queue\([^)]*\)", inspect.getsource(ui.build_app))
    return found.group() if found else "demo.queue(?)"


def ask(client, question: str) -> tuple[float, bool]:
    """(seconds, ok) for one question in a fresh conversation."""
    t0 = time.perf_counter()
    try:
        messages = client.predict(question, [], "", "", "", "any", "", api_name="/ask")[0]  # the chat; then the other outputs
        ok = "Sorry, this question failed" not in json.dumps(messages[-1]["content"])
    except Exception:  # any failure the user would see counts as an error
        ok = False
    return time.perf_counter() - t0, ok


def run_level(url: str, clients: int, questions: list[str], seconds: float, max_requests: int, downloads: Path):
    """(latencies of successful requests, errors, wall seconds) for ``clients`` concurrent sessions."""
    from gradio_client import Client

    sessions = [Client(url, verbose=False, download_files=str(downloads)) for _ in range(clients)]
    latencies: list[float] = []
    errors = issued = 0
    lock = threading.Lock()
    start = time.perf_counter()

    def work(n: int, client) -> None:
        nonlocal errors, issued
        while time.perf_counter() < start + seconds:
            with lock:
                if issued >= max_requests:
                    return
                issued += 1
            took, ok = ask(client, questions[n % len(questions)])
            n += clients  # the clients go through the questions side by side, none twice
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors += 1

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    for s in sessions:
        s.close()
    return latencies, errors, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(c.DEFAULT_INDEX), help=f"index to serve (default {c.DEFAULT_INDEX})")
    ap.add_argument("--url", help="use this running server instead of starting one")
    ap.add_argument("--questions", default=str(c.DEV))
    ap.add_argument("--seconds", type=float, default=12, help="window per level (default 12)")
    ap.add_argument("--max-requests", type=int, default=300, help="requests per level at most (default 300)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 3 s and 20 requests per level")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.max_requests = 3, 20

    questions = [q["q"] for q in c.dev_questions(Path(args.questions))]
    out = c.Output("cableqa load: concurrent gradio_client sessions calling /ask over loopback", args.out, args.quick)
    tmp = Path(tempfile.mkdtemp(prefix="cableqa-load-"))
    proc = None
    try:
        if args.url:
            url, server = args.url, f"{args.url} (already running)"
        else:
            proc, url = c.start_serve(["--index", args.index], tmp, cwd=tmp,
                                      env={**os.environ, "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio")})
            server = f"cableqa serve --index {args.index} (started here; torch threads: cores - 1)"
        from gradio_client import Client

        probe = Client(url, verbose=False, download_files=str(tmp))
        status = html.unescape(re.sub(r"<[^>]+>", "", probe.predict(api_name="/status"))).strip()
        ask(probe, "warm-up question about elections in Kazakhstan")  # model and caches loaded before timing
        probe.close()
        out.print(f"server: {server}; {status}",
                  f"queue: {queue_settings()} in ui.build_app, and one request at a time in ui.Engine (a lock)",
                  f"questions: {len(questions)} from {Path(args.questions).name}, each in a fresh conversation; "
                  f"{args.seconds:g} s per level (at most {args.max_requests} requests), requests in flight then "
                  "finish", "")
        rows = [(clients, *run_level(url, clients, questions, args.seconds, args.max_requests, tmp))
                for clients in LEVELS]
    finally:
        if proc is not None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)

    nan = float("nan")
    base = statistics.median(rows[0][1]) if rows[0][1] else nan
    table = []
    for clients, latencies, errors, wall in rows:
        p50 = statistics.median(latencies) if latencies else nan
        table.append([clients, len(latencies) + errors, errors, c.ms(p50),
                      c.ms(c.percentile(latencies, 99)) if latencies else "n/a",
                      f"{len(latencies) / wall:.2f}", c.ratio(p50, base)])
    out.print(c.table(["clients", "requests", "errors", "p50 ms", "p99 ms", "req/s", "p50 / 1-client p50"], table),
              "", f"acceptance (0 errors at 16 clients): {'PASS' if rows[-1][2] == 0 else 'FAIL'}")
    out.save()


if __name__ == "__main__":
    main()
