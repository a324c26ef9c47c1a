"""A watched corpus folder (``--watch``): files added, changed or removed there are indexed, debounced.

:class:`Settler` decides when a changed file is ready: only after its size and
modification time have stayed the same for a quiet period, so a file still
being copied or written is never read half-way.  Hidden names (``.x.part``,
``.removed/``) are ignored, as the readers ignore them.  :class:`Watcher`
feeds it from the ``watchdog`` library (inotify on Linux) and hands the ready
files, and the removed ones, to a callback: the UI's and ``cableqa index
--watch``'s :class:`cableqa.ingest.Ingest`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

QUIET_SECONDS = 2.0  # unchanged this long = written
POLL_SECONDS = 0.5

Stamp = tuple[int, int]  # size, mtime_ns


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class Settler:
    """Changed paths, handed out once unchanged (same size and mtime) for ``quiet`` seconds."""

    def __init__(self, quiet: float = QUIET_SECONDS, clock: Callable[[], float] = time.monotonic,
                 stamp: Callable[[Path], Stamp | None] = _stamp):
        self.quiet, self._clock, self._stamp = quiet, clock, stamp
        self._pending: dict[Path, tuple[Stamp | None, float]] = {}
        self._lock = threading.Lock()

    def touch(self, path: Path) -> None:
        """``path`` changed (created, written, moved here, or removed) just now."""
        with self._lock:
            self._pending[Path(path)] = (self._stamp(Path(path)), self._clock())

    def due(self) -> tuple[list[Path], list[Path]]:
        """(files ready to read, files gone): each path once, after ``quiet`` seconds without change."""
        ready, gone = [], []
        now = self._clock()
        with self._lock:
            for path, (seen, since) in list(self._pending.items()):
                current = self._stamp(path)
                if current != seen:  # still being written: the quiet period starts again
                    self._pending[path] = (current, now)
                elif now - since >= self.quiet:
                    del self._pending[path]
                    (gone if current is None else ready).append(path)
        return sorted(ready), sorted(gone)

    def __len__(self) -> int:
        return len(self._pending)


def hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` (under ``root``) has a hidden part, as the readers skip them."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return True
    return any(p.startswith(".") for p in parts)


class Watcher:
    """Watch ``folder`` recursively; call ``on_ready(ready, gone)`` with settled files (from a thread)."""

    def __init__(self, folder: Path, on_ready: Callable[[list[Path], list[Path]], None],
                 quiet: float = QUIET_SECONDS, poll: float = POLL_SECONDS):
        self.folder = Path(folder).resolve()
        self.on_ready = on_ready
        self.settler = Settler(quiet)
        self.poll = poll
        self._stop = threading.Event()
        self._observer = None
        self._thread: threading.Thread | None = None

    def _seen(self, path: str | bytes, is_dir: bool) -> None:
        path = Path(os.fsdecode(path))
        if hidden(path, self.folder):
            return
        if is_dir:  # a folder copied or moved in: files created before its watch began raise no event
            for sub in path.rglob("*") if path.is_dir() else [path]:
                if sub.is_file() and not hidden(sub, self.folder):
                    self.settler.touch(sub)
            if not path.exists():
                self.settler.touch(path)  # a folder removed: its cables are pruned
            return
        self.settler.touch(path)

    def start(self) -> Watcher:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                # reading raises no change; a folder "modified" is a file in it changing, which has its own event
                if event.event_type in ("opened", "closed_no_write") or (event.is_directory
                                                                         and event.event_type == "modified"):
                    return
                watcher._seen(event.src_path, event.is_directory)
                if getattr(event, "dest_path", ""):
                    watcher._seen(event.dest_path, event.is_directory)

        self.folder.mkdir(parents=True, exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.folder), recursive=True)
        self._observer.start()
        self._thread = threading.Thread(target=self._loop, name="cableqa-watch", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            ready, gone = self.settler.due()
            if ready or gone:
                try:
                    self.on_ready(ready, gone)
                except Exception:  # a failing callback must not end the watch
                    import traceback

                    traceback.print_exc()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)


def watch_into(ingest, folder: Path, quiet: float = QUIET_SECONDS, catch_up: bool = True) -> Watcher:
    """Index ``folder`` through ``ingest`` (a :class:`cableqa.ingest.Ingest`) as it changes; with
    ``catch_up``, first what changed while nobody watched.  Cables of removed files are pruned."""
    folder = Path(folder)

    def on_ready(ready: list[Path], gone: list[Path]) -> None:
        names = [p.name for p in ready + gone]
        what = f"watched folder: {', '.join(names[:3])}" + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        ingest.submit(ready, what, forget=gone, prune=True, skip_seen=True)

    watcher = Watcher(folder, on_ready, quiet=quiet).start()
    if catch_up:
        ingest.submit([folder], f"watched folder {folder.name}: catching up", prune=True)
    return watcher
