"""Subprocess used by test_crash.py: index a JSON Lines file with a slow fake embedder (to be killed)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import FakeEmbedder  # noqa: E402

from cableqa import indexer  # noqa: E402
from cableqa.cables import Report  # noqa: E402


class SlowFake(FakeEmbedder):
    def encode(self, texts, progress=None, block=256):
        time.sleep(0.02 * len(texts) / 50)  # ~1 ms a chunk: kills land mid-batch, mid-commit, mid-publish
        return super().encode(texts, progress, block)


if __name__ == "__main__":
    source, index = sys.argv[1], sys.argv[2]
    indexer.BATCH_CHUNKS = 50
    stats = indexer.run([source], index, lambda manifest: SlowFake(), report=Report(), prune="--prune" in sys.argv)
    print(stats.summary(), flush=True)
