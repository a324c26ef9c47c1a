"""Launch the cableqa chat UI on corpus/ (same as `cableqa serve`); builds the index on first run."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CABLEQA_CORPUS", str(HERE / "corpus"))
os.environ.setdefault("CABLEQA_INDEX", str(HERE / "embeddings"))

if __name__ == "__main__":
    from cableqa.cli import cli

    cli(["serve", *os.sys.argv[1:]])
