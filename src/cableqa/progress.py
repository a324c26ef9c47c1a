"""The one progress helper: a bar on stderr for long jobs (indexing, fine-tuning)."""

from __future__ import annotations

import sys
from contextlib import contextmanager


@contextmanager
def bar(quiet: bool, unit: str, desc: str):
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
