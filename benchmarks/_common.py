"""Helpers shared by the benchmark scripts: machine description, timing, tables, test data.

Not a benchmark itself.  Importing it puts the repository's ``src/`` first on
``sys.path`` (so the scripts also run from a plain checkout, e.g. on a GPU box)
and sets the offline switches every script wants.
"""

from __future__ import annotations

import json
import lzma
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = ROOT.parent / "shared"
SUBSET = SHARED / "cables" / "subset-3000.jsonl.xz"
CORPUS = SHARED / "cables" / "cables.jsonl.xz"
DEV = SHARED / "eval" / "dev.jsonl"
DEFAULT_INDEX = Path("/work/ix/sub")


# -- machine and output ------------------------------------------------------------------

def machine() -> str:
    """CPU model, cores, torch threads, Python, load average: the line every result file starts with."""
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {cpu}, {os.cpu_count()} cores ({usable} usable), torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}, load average {load}")


class Output:
    """Prints lines as they come and writes them all to ``path`` (if any) at the end."""

    def __init__(self, title: str, path: str | None, quick: bool = False):
        self.path = path
        self.lines: list[str] = []
        quick_note = "  [QUICK run: a small configuration to check the script, not a measurement]"
        self.print(title + (quick_note if quick else ""), f"date: {time.strftime('%Y-%m-%d %H:%M')}", machine())

    def print(self, *lines: str) -> None:
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)

    def save(self) -> None:
        if self.path:
            self.print(f"(load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            Path(self.path).write_text("\n".join(self.lines) + "\n")


def table(headers: list[str], rows: list[list]) -> str:
    """A plain-text table: text left-aligned, numbers right-aligned."""
    cells = [list(headers)] + [[c if isinstance(c, str) else f"{c}" for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(not isinstance(r[i], str) or r[i][:1].isdigit() or r[i][:1] in "+-." or r[i] == ""
                   for r in rows) for i in range(len(headers))]

    def line(r):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def percentile(values, p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def vm_kib(pid: int | str, field: str) -> int:
    """A ``/proc/PID/status`` memory field (VmHWM: peak RSS, VmRSS: current) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


# -- searching -----------------------------------------------------------------------------

def open_searcher(index, out: Output, note: str = "", threads: int | None = None):
    """A warmed ``Searcher`` on ``index``, described on one line of ``out`` (plus ``note``);
    ``threads``: of the model that embeds questions (default: its runtime's)."""
    from cableqa.search import Searcher

    searcher = Searcher(index, threads=threads)
    searcher.warm()
    info = searcher.info()
    out.print(f"index: {index}: {info['cables']} cables, {info['chunks']} chunks, {info['model']} "
              f"({info['backend']}), FAISS {info['faiss']}{note}")
    return searcher


def answers(searcher) -> Callable[[dict], list[dict]]:
    """The answer function ``cableqa.evaluate.score`` wants: a question's top 10 hits, with its history."""
    return lambda q: [h.to_json() for h in searcher.search(q["q"], history=q.get("history") or (), k=10).hits]


# -- a server ------------------------------------------------------------------------------

def start_serve(args: list[str], tmp: Path, env: dict | None = None, cwd: Path | None = None,
                timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """``cableqa serve ARGS`` on a free loopback port, its output appended to ``tmp/serve.log``:
    (the process, its URL) once the page answers HTTP 200; exits with the log's tail if it does not."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    log = tmp / "serve.log"
    with open(log, "a") as f:
        proc = subprocess.Popen([sys.executable, "-m", "cableqa.cli", "serve", *args, "--port", str(port)],
                                stdout=f, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"cableqa serve exited with {proc.returncode}:\n" + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"cableqa serve did not answer within {timeout:.0f} s")


# -- timing --------------------------------------------------------------------------------

class Stopwatch:
    """Seconds accumulated per label by timing wrappers patched onto library functions.

    Times are exclusive: a timed call nested in another (in the same thread) counts under its own
    label only, so the labels of one run add up to the time they cover, with no double counting."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._nested = threading.local()  # per thread: the time of timed calls inside each open one

    def __getitem__(self, label: str) -> float:
        return self.seconds.get(label, 0.0)

    def reset(self) -> None:
        self.seconds = {}

    @contextmanager
    def patched(self, owner, name: str, label: str | Callable[..., str]):
        """Time every call of ``owner.name`` (a module function, class method or instance attribute)
        under ``label`` (or ``label(*args, **kwargs)``) while the context lasts."""
        original = getattr(owner, name)
        own = vars(owner).get(name)  # None: inherited (a method seen through an instance)

        def timed(*args, **kwargs):
            stack = self._nested.__dict__.setdefault("stack", [])
            stack.append(0.0)
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t
                inner = stack.pop()
                if stack:
                    stack[-1] += spent
                key = label if isinstance(label, str) else label(*args, **kwargs)
                self.seconds[key] = self.seconds.get(key, 0.0) + spent - inner

        setattr(owner, name, timed)
        try:
            yield self
        finally:
            if own is None:
                delattr(owner, name)
            else:
                setattr(owner, name, own)


@contextmanager
def index_stages(embedder) -> Iterator[Stopwatch]:
    """Time the stages of :func:`cableqa.indexer.run` with ``workers=1`` (see :func:`stage_rows`):
    preparation in worker processes is not seen here."""
    from cableqa import chunks, indexer, vectors
    from cableqa.embed import TokenCounter
    from cableqa.keywords import KeywordIndex

    sw = Stopwatch()
    with ExitStack() as stack:
        for owner, name, label in [(indexer, "dedupe", "read"), (indexer, "_open_partial", "partial"),
                                   (chunks, "chunk_cable", "chunk"), (TokenCounter, "__call__", "count"),
                                   (embedder, "encode_parts", "encode"), (indexer, "_write_batch", "write"),
                                   (vectors, "load", "faiss"), (vectors, "sync", "faiss"),
                                   (vectors, "save", "faiss"), (indexer, "_sync_keywords", "keywords"),
                                   (KeywordIndex, "save", "keywords")]:
            stack.enter_context(sw.patched(owner, name, label))
        yield sw


def stage_rows(sw: Stopwatch, total: float) -> list[list]:
    """[stage, seconds, % of total] rows of an indexer run timed by :func:`index_stages` (exclusive times).

    Parsing and token counting run in the indexer's chunking thread beside the embedding, so they
    overlap the main thread's stages: shown, but not subtracted when working out "other"."""
    main = [("read + dedupe cables (decompress, JSON, header parse)", sw["read"]),
            ("open the new generation (copy of the base SQLite)", sw["partial"]),
            ("embedding (Embedder.encode_parts inside the indexer)", sw["encode"]),
            ("SQLite writes (+ context, text keys, commits)", sw["write"]),
            ("FAISS (load, sync from SQLite, save)", sw["faiss"]),
            ("keyword index (BM25 counts, save)", sw["keywords"])]
    main.append(("other (waits for chunks, FTS optimize, WAL checkpoint, publish)", total - sum(s for _, s in main)))
    beside = [("  chunking thread: parse paragraphs + cut windows (overlapped)", sw["chunk"]),
              ("  chunking thread: tokenizer counting (overlapped)", sw["count"])]
    return [[name, f"{s:.2f}", f"{100 * s / total:.1f}%"] for name, s in main + beside]


# -- data ------------------------------------------------------------------------------------

def raw_records(path: Path = SUBSET) -> Iterator[tuple[str, str]]:
    """(cable id, JSON line) of a cables JSON Lines file (.xz or plain), in file order."""
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["id"], line.rstrip("\n")


def first_lines(path: Path, n: int) -> list[str]:
    """The first ``n`` JSON lines (cables) of ``path``."""
    return [line for _, (_, line) in zip(range(n), raw_records(path))]


def write_jsonl(lines: list[str], path: Path) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def embed_inputs(path: Path, count: Callable[[str], int], limit: int | None = None, seed: int = 0
                 ) -> tuple[list[str], list[tuple]]:
    """What the indexer embeds for the cables of ``path`` (``cableqa.prepare.prepare_cable``: cable
    context, line break, chunk text, acronyms spelled out) and each text's sentence spans, the cables
    taken in a seeded random order, stopping at ``limit`` texts; ``count``: the model's token counter."""
    from cableqa.cables import Report, read_paths
    from cableqa.chunks import MAX_TOKENS
    from cableqa.prepare import prepare_cable

    cables = list(read_paths([path], Report()))
    random.Random(seed).shuffle(cables)
    texts: list[str] = []
    spans: list[tuple] = []
    for cable in cables:
        prep = prepare_cable(cable, MAX_TOKENS - 2, count)
        texts += prep.texts
        spans += prep.spans
        if limit and len(texts) >= limit:
            break
    return texts[:limit], spans[:limit]


def embed_texts(path: Path, count: Callable[[str], int], limit: int | None = None, seed: int = 0) -> list[str]:
    """The texts of :func:`embed_inputs`."""
    return embed_inputs(path, count, limit, seed)[0]


def rounds_args(ap, texts: int, backends: str, quick_texts: int):
    """The options of the interleaved-rounds embedding benchmarks (batching.py, sentences.py); after
    ``ap.parse_args()``, ``--quick`` has set ``quick_texts`` texts and one round."""
    ap.add_argument("--texts", type=int, default=texts, help=f"chunk texts to embed (default {texts})")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table gives the median")
    ap.add_argument("--backends", default=backends, help="comma-separated backends")
    ap.add_argument("--onnx-cache", default="/tmp/cableqa-bench-onnx", help="folder of the ONNX export")
    ap.add_argument("--quick", action="store_true", help=f"{quick_texts} texts, one round: checks the script")
    ap.add_argument("--out", help="also write the report to this file")

    def parse():
        args = ap.parse_args()
        if args.quick:
            args.texts, args.rounds = quick_texts, 1
        return args

    return parse


def dev_questions(path: Path = DEV, limit: int | None = None) -> list[dict]:
    from cableqa.evaluate import load_questions

    return load_questions(path)[:limit]
