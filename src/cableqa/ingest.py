"""New cables while the chat runs: uploaded files checked and kept in the corpus, indexed in the background.

:func:`accept_upload` checks one uploaded file (a safe name of our own making,
never the client's path; a size limit; decompression bounded before anything
reads it) and keeps it in ``<corpus>/uploads/``, so ``cableqa index --rebuild``
re-reads it.  :class:`Ingest` runs :func:`cableqa.indexer.run` on a worker
thread, one job after another, under the index's own lock (``wait``: a
``cableqa index`` in another process goes first), and keeps a
:class:`Progress` snapshot the page polls.  The chat keeps searching the live
generation meanwhile and switches when the job publishes a new one
(:meth:`cableqa.search.Searcher.refresh`).
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import queue
import re
import shutil
import threading
import time
import traceback
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cables import CSV_SUFFIXES, JSONL_SUFFIXES, PAGE_SUFFIXES, Problem, Report
from .errors import IndexError_, Rejected

MAX_UPLOAD_BYTES = 256 * 2**20  # the whole Cablegate JSON Lines dump is 28 MiB as .xz, 127 MiB plain
MAX_EXPANDED_BYTES = 512 * 2**20  # decompressed, per file: a "bomb" stops here, unread
MAX_NAME_CHARS = 120
UPLOADS = "uploads"
COMPRESSED = (".gz", ".xz")
CABLE_SUFFIXES = JSONL_SUFFIXES | CSV_SUFFIXES | PAGE_SUFFIXES
_CHUNK = 1 << 20


def _split(name: str) -> tuple[str, str]:
    """("cables", ".jsonl.xz") for "cables.JSONL.xz"; :class:`Rejected` for a name of no cable file."""
    lower = name.lower()
    packed = next((ext for ext in COMPRESSED if lower.endswith(ext)), "")
    stem, dot, suffix = lower.removesuffix(packed).rpartition(".")
    if not dot or not stem or f".{suffix}" not in CABLE_SUFFIXES:
        raise Rejected("not a cable file name: expected .txt pages, .csv, .jsonl/.ndjson/.json, plain or .gz/.xz")
    ending = f".{suffix}{packed}"
    return name[: len(name) - len(ending)], ending


def safe_name(client_name: str) -> str:
    """A file name of our own from what the client called the file: its last path part, plain
    characters only, never hidden, with a cable-file suffix (optionally .gz/.xz); else :class:`Rejected`."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", client_name or ""))[-1]
    stem, ending = _split(re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._-"))
    return (stem.rstrip("._-")[: MAX_NAME_CHARS - len(ending)] or "cables") + ending


def expanded_size(path: Path, limit: int = MAX_EXPANDED_BYTES) -> int:
    """Bytes ``path`` holds once decompressed (.gz/.xz by suffix or magic bytes, as the readers
    tell them), read in bounded steps and not kept; :class:`Rejected` as soon as it passes ``limit``.
    Damaged data counts up to the damage: the reader reports it."""
    with open(path, "rb") as f:
        head = f.read(6)
    name = path.name.lower()
    if name.endswith(".gz") or head[:2] == b"\x1f\x8b":
        opener = gzip.open
    elif name.endswith(".xz") or head == b"\xfd7zXZ\x00":
        opener = lzma.open
    else:
        return path.stat().st_size
    total = 0
    try:
        with opener(path, "rb") as f:
            while block := f.read(_CHUNK):  # each read decompresses at most _CHUNK bytes: a bomb never sits in memory
                total += len(block)
                if total > limit:
                    raise Rejected(f"expands to over {limit // 2**20} MiB when decompressed (the limit)")
    except (EOFError, OSError, lzma.LZMAError, zlib.error):
        pass
    return total


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def accept_upload(temp: str | Path, client_name: str, corpus: Path, *, max_bytes: int = MAX_UPLOAD_BYTES,
                  max_expanded: int = MAX_EXPANDED_BYTES) -> tuple[Path, bool]:
    """Keep the uploaded file ``temp`` in ``<corpus>/uploads/``: (its path there, whether it is new).

    The same name with the same bytes is the file already kept; the same name with other
    bytes gets a numbered name, so nothing uploaded earlier is overwritten.  The file appears
    under its final name only once complete (written hidden, then renamed), so a folder
    watcher never reads it half-way.  :class:`Rejected` says why a file is not kept.
    """
    name = safe_name(client_name)
    temp = Path(temp)
    size = temp.stat().st_size
    if size > max_bytes:
        raise Rejected(f"{size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB upload limit")
    if size == 0:
        raise Rejected("empty file")
    expanded_size(temp, max_expanded)
    folder = Path(corpus) / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    digest = _sha256(temp)
    stem, ending = _split(name)
    for n in range(1, 1000):
        target = folder / (name if n == 1 else f"{stem}-{n}{ending}")
        if not target.exists():
            break
        if target.stat().st_size == size and _sha256(target) == digest:
            return target, False
    else:
        raise Rejected(f"too many uploads named {name}")
    part = folder / f".{target.name}.{os.getpid()}.part"  # hidden: no reader or watcher takes it
    shutil.copyfile(temp, part)
    with open(part, "rb") as f:
        os.fsync(f.fileno())
    os.replace(part, target)
    return target, True


# ---------------------------------------------------------------- background indexing


@dataclass(frozen=True)
class Progress:
    """What the background indexing is doing, for the page."""

    state: str = "idle"  # idle, queued, waiting (for the index lock), reading, embedding, publishing, done, failed
    what: str = ""  # the job: "upload: a.jsonl" / "watched folder: 2 files"
    cables_done: int = 0
    cables_total: int = 0
    chunks_done: int = 0
    chunks_per_cable: float = 0.0  # of the cables done so far
    started: float = 0.0
    finished: float = 0.0
    queued: int = 0  # jobs waiting behind this one
    summary: str = ""  # the indexer's summary once done, or the error
    problems: tuple[Problem, ...] = ()
    published: str | None = None

    @property
    def chunks_expected(self) -> int:
        """Chunks this job will embed, estimated from the cables done so far."""
        return max(self.chunks_done, round(self.chunks_per_cable * self.cables_total))

    @property
    def busy(self) -> bool:
        return self.state not in ("idle", "done", "failed")

    def seconds_left(self, now: float | None = None) -> float | None:
        """Time left at the rate of the chunks embedded so far, the chunks still to do estimated from
        the chunks per cable of the batches done (None before the first batch)."""
        if self.state != "embedding" or not self.cables_done or not self.chunks_done:
            return None
        spent = (now or time.time()) - self.started
        return spent / self.chunks_done * (self.chunks_expected - self.chunks_done)


@dataclass(frozen=True)
class Job:
    sources: tuple[Path, ...]
    what: str
    forget: tuple[str, ...] = ()  # source files whose cables are dropped
    prune: bool = False
    rejected: tuple[Problem, ...] = ()  # upload problems found before indexing, shown with the job's


class _Counting:
    """The embedder, counting the chunks it embeds (the indexer's progress counts cables)."""

    def __init__(self, inner, count: Callable[[int], None]):
        self._inner, self._count = inner, count

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def _counted(self, progress):
        def counted(n: int) -> None:  # per block of a batch: the page moves while a big batch is embedded
            self._count(n)
            if progress:
                progress(n)

        return counted

    def encode(self, texts, progress=None, **kwargs):
        return self._inner.encode(texts, progress=self._counted(progress), **kwargs)

    def encode_parts(self, texts, spans, progress=None, **kwargs):
        return self._inner.encode_parts(texts, spans, progress=self._counted(progress), **kwargs)


class Ingest:
    """One worker thread indexing submitted jobs in order into ``index`` (see the module docstring).

    ``make_embedder(manifest)`` is :func:`cableqa.indexer.run`'s; the UI passes one that reuses
    the model it already loaded for questions.  ``run`` is the indexer (a parameter for tests).
    """

    def __init__(self, index: Path, make_embedder, corpus: Path, run: Callable | None = None):
        from .indexer import run as index_run

        self.index, self.corpus = Path(index), Path(corpus)
        self._make, self._run = make_embedder, run or index_run
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._progress = Progress()
        self._indexed: dict[str, tuple[int, int] | None] = {}  # file -> (size, mtime_ns) when queued, None: forgotten
        self._thread = threading.Thread(target=self._work, name="cableqa-ingest", daemon=True)
        self._thread.start()

    # -- what callers use ----------------------------------------------------------
    def submit(self, sources: Sequence[Path], what: str, *, forget: Sequence[str | Path] = (), prune: bool = False,
               rejected: Sequence[Problem] = (), skip_seen: bool = False) -> bool:
        """Queue a job; ``skip_seen`` drops sources unchanged since this worker indexed them
        (the watcher seeing a file an upload just indexed).  False when nothing was queued."""
        sources = [Path(s) for s in sources]
        forget = [str(Path(p).resolve()) for p in forget]
        with self._lock:
            if skip_seen:
                sources = [s for s in sources if self._stamp(s) is None
                           or self._indexed.get(str(s.resolve())) != self._stamp(s)]
                forget = [f for f in forget if self._indexed.get(f, 0) is not None]
            if not sources and not forget and not rejected:
                return False
            # claimed now, so the watcher seeing what this job handles queues no second job (None: forgotten)
            self._indexed.update({str(s.resolve()): st for s in sources if (st := self._stamp(s)) is not None})
            self._indexed.update(dict.fromkeys(forget))
            if not self._progress.busy:  # before the worker can take it: its own state then follows
                self._progress = Progress(state="queued", what=what)
            self._jobs.put(Job(tuple(sources), what, tuple(forget), prune, tuple(rejected)))
            waiting = max(0, self._jobs.qsize() - (self._progress.state == "queued"))  # the job shown is not "more"
            self._progress = replace(self._progress, queued=waiting)
        return True

    def snapshot(self) -> Progress:
        with self._lock:
            return self._progress

    def wait_idle(self, timeout: float = 600) -> Progress:
        """Block until every queued job is done (tests and ``cableqa index --watch`` use it)."""
        deadline = time.time() + timeout
        while (self._jobs.unfinished_tasks or self.snapshot().busy) and time.time() < deadline:
            time.sleep(0.05)
        return self.snapshot()

    def close(self) -> None:
        self._jobs.put(None)

    # -- the worker ------------------------------------------------------------------
    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def _update(self, **changes) -> None:
        with self._lock:
            self._progress = replace(self._progress, **changes)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._one(job)
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    def _one(self, job: Job) -> None:
        with self._lock:
            self._progress = Progress(state="waiting" if job.sources or job.forget else "done", what=job.what,
                                      started=time.time(), queued=self._jobs.qsize(), problems=job.rejected)
        if not job.sources and not job.forget:  # every file of the upload was rejected
            self._update(finished=time.time(), summary="nothing to index")
            return
        report = Report()

        def make(manifest):
            self._update(state="reading")
            return _Counting(self._make(manifest), lambda n: self._update(
                chunks_done=self.snapshot().chunks_done + n))

        def progress(done: int, total: int) -> None:
            chunks = self.snapshot().chunks_done
            self._update(state="publishing" if done >= total else "embedding", cables_done=done, cables_total=total,
                         chunks_per_cable=chunks / done if done else 0.0)

        try:
            stats = self._run(list(job.sources), self.index, make, prune=job.prune, wait=True, report=report,
                              progress=progress, forget=job.forget)
        except (IndexError_, OSError, ValueError, RuntimeError) as exc:
            traceback.print_exc()
            with self._lock:  # not indexed after all: the next sight of these files queues them again
                for s in job.sources:
                    self._indexed.pop(str(s.resolve()), None)
            self._update(state="failed", finished=time.time(), summary=f"indexing failed: {exc}",
                         problems=job.rejected + tuple(report.problems))
            return
        self._update(state="done", finished=time.time(), summary=stats.summary(), published=stats.published,
                     problems=job.rejected + tuple(stats.problems), queued=self._jobs.qsize())


@dataclass
class Uploaded:
    """What an upload kept and what it refused."""

    kept: list[Path] = field(default_factory=list)
    new: int = 0
    rejected: list[Problem] = field(default_factory=list)


def accept_uploads(files: Sequence[tuple[str | Path, str]], corpus: Path, max_files: int = 50) -> Uploaded:
    """:func:`accept_upload` for each (temp path, client name); refusals become problems naming the file."""
    out = Uploaded()
    for n, (temp, client_name) in enumerate(files):
        shown = re.split(r"[\\/]", client_name or "")[-1][:MAX_NAME_CHARS] or "(no name)"
        if n >= max_files:
            out.rejected.append(Problem(shown, f"more than {max_files} files in one upload; send it again"))
            continue
        try:
            path, new = accept_upload(temp, client_name, corpus)
        except Rejected as exc:
            out.rejected.append(Problem(shown, str(exc)))
        except OSError as exc:
            out.rejected.append(Problem(shown, f"cannot be saved: {exc.strerror or exc}"))
        else:
            out.kept.append(path)
            out.new += new
    return out
