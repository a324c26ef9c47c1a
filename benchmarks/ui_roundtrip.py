"""Question-to-answer round trip of the chat UI in a real browser, against the direct search call.

Serves the chat (as ``cableqa serve`` does) on an index, drives Chromium
through Playwright, and for each of N dev questions measures, in turn:

* ``Searcher.search()`` called directly (the baseline: what the CLI does);
* ``Engine.ask()``: search plus the extractive answer, in process;
* the browser round trip: Enter pressed in the question box until the
  answer is rendered in the chat.

Each question is asked in a fresh conversation (no history), so the three
measure the same work.  Prints p50/p95 per measure and its ratio to the
baseline, with the machine described.

    python benchmarks/ui_roundtrip.py [INDEX] [-n 40] [--out benchmarks/results/ui_roundtrip.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", nargs="?", default="/work/ix/sub")
    ap.add_argument("--questions", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    ap.add_argument("-n", type=int, default=40, help="questions to ask (default 40)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from cableqa import ui
    from cableqa.filters import Filters
    from cableqa.search import Searcher

    questions = [json.loads(line)["q"] for line in Path(args.questions).read_text().splitlines() if line.strip()]
    questions = questions[:args.n]
    searcher = Searcher(args.index)
    ui.leave_a_core_free()  # as `cableqa serve` does
    engine = ui.Engine(searcher)
    engine.warm()
    import torch

    threads = torch.get_num_threads()
    tmp = Path(tempfile.mkdtemp(prefix="cableqa-bench-"))
    os.environ["GRADIO_TEMP_DIR"] = str(tmp / "gradio")
    demo = ui.build_app(ui.ChatUI(engine, tmp / "exports"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui.launch(demo, port=port, allowed=[tmp], block=False, quiet=True)

    started = machine()
    times: dict[str, list[float]] = {"search": [], "engine": [], "browser": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#cq-status .cq-status")
        for i, q in enumerate(["warm-up question about elections"] + questions):
            t0 = time.perf_counter()
            searcher.search(q, k=ui.HITS_SHOWN)
            t1 = time.perf_counter()
            engine.ask(q, (), Filters())
            t2 = time.perf_counter()
            page.click("#cq-new")
            page.wait_for_function("document.querySelectorAll('#cq-chat .cq-answer').length == 0")
            page.fill("#cq-question textarea", q)
            t3 = time.perf_counter()
            page.press("#cq-question textarea", "Enter")
            page.wait_for_function("document.querySelectorAll('#cq-chat .cq-answer').length == 1")
            t4 = time.perf_counter()
            if i:  # the first is a warm-up
                times["search"].append(t1 - t0)
                times["engine"].append(t2 - t1)
                times["browser"].append(t4 - t3)
        browser.close()
    demo.close()
    shutil.rmtree(tmp, ignore_errors=True)

    info = searcher.info()
    base = statistics.median(times["search"])
    rows = [("Searcher.search() direct (baseline)", "search"), ("Engine.ask(): search + extractive answer", "engine"),
            ("browser round trip: Enter -> answer rendered", "browser")]
    lines = [f"cableqa chat UI round trip, {len(questions)} questions from {Path(args.questions).name} "
             f"(one fresh conversation each), {time.strftime('%Y-%m-%d %H:%M')}",
             f"index: {args.index} ({info['cables']} cables, {info['chunks']} chunks, {info['model']}, "
             f"backend {info['backend']}); torch threads {threads}; Chromium headless via Playwright",
             f"machine: {started} at start; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end",
             "",
             f"| {'measure':<46} | {'p50 ms':>7} | {'p95 ms':>7} | {'mean ms':>7} | {'p50 / baseline':>14} |",
             f"|{'-' * 48}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 16}|"]
    for label, key in rows:
        v = times[key]
        lines.append(f"| {label:<46} | {statistics.median(v) * 1000:7.0f} | {percentile(v, 95) * 1000:7.0f} | "
                     f"{statistics.mean(v) * 1000:7.0f} | {statistics.median(v) / base:13.1f}x |")
    p50 = statistics.median(times["browser"])
    lines += ["", f"acceptance (browser p50 <= 1 s): {'PASS' if p50 <= 1.0 else 'FAIL'} ({p50 * 1000:.0f} ms)"]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    sys.exit(main())
