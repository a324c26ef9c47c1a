"""Settings, resolved in one place: command-line flag, then ``CABLEQA_*`` environment variable, then default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
BACKENDS = ("torch", "bf16", "onnx", "onnx-int8", "onnx-int8-mixed")  # see cableqa.embed
DEFAULTS = {
    "index": "embeddings",
    "corpus": "corpus",
    "model": None,  # None: the index's model, or embed.DEFAULT_MODEL for a new index
    "backend": None,  # None: the index's backend, or auto_backend() for a new index
    "device": "auto",
    "host": "127.0.0.1",
    "port": "7860",
    "auth": None,  # "user:password" for the web UI
    "workers": None,  # processes preparing texts for `index`; None: the cores
    "engine": "local",  # `index`: "local" (this process and its workers) or "ray"
    "query_backend": "auto",  # what embeds questions; "auto": embed.query_backend's rule
}


@dataclass(frozen=True)
class Settings:
    index: Path
    corpus: Path
    model: str | None
    backend: str | None
    device: str
    host: str
    port: int
    auth: tuple[str, str] | None
    workers: int | None
    engine: str
    query_backend: str = "auto"


def resolve(**flags) -> Settings:
    """Each setting from its flag (when not None), else ``CABLEQA_<NAME>``, else the default."""
    values = {}
    for name, default in DEFAULTS.items():
        flag = flags.get(name)
        values[name] = flag if flag is not None else os.environ.get(f"CABLEQA_{name.upper()}", default)
    auth = values["auth"]
    if auth:
        user, sep, password = str(auth).partition(":")
        if not sep or not user or not password:
            raise ValueError("auth must look like user:password")
        auth = (user, password)
    workers = values["workers"]
    if workers is not None and (not str(workers).isdigit() or int(workers) < 1):
        raise ValueError(f"workers must be a whole number of processes, at least 1 (not {workers!r})")
    if values["engine"] not in ("local", "ray"):
        raise ValueError(f"engine must be local or ray (not {values['engine']!r})")
    if values["query_backend"] not in ("auto", *BACKENDS):
        raise ValueError(f"query backend must be auto or one of {', '.join(BACKENDS)} "
                         f"(not {values['query_backend']!r})")
    return Settings(index=Path(values["index"]), corpus=Path(values["corpus"]), model=values["model"] or None,
                    backend=values["backend"] or None, device=values["device"], host=values["host"],
                    port=int(values["port"]), auth=auth, workers=int(workers) if workers else None,
                    engine=values["engine"], query_backend=values["query_backend"])


def serving_threads() -> int:
    """CPU threads for answering one question: OMP_NUM_THREADS when set, else all cores but one, so the
    web server keeps a core (one thread per core made queries wait: 5-60x slower on 2 cores)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else max(1, (os.cpu_count() or 1) - 1)


def cpu_flags() -> set[str]:
    """The feature flags of this CPU (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16)."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def auto_backend(device: str) -> str:
    """bf16 where the hardware has it (CUDA, or a CPU with AMX/AVX512-BF16); else torch fp32.

    Measured (benchmarks/results/backends*.txt): bf16 embeds 2.5x faster than fp32 with the same dev
    Recall@5. Without bf16, ``onnx-int8-mixed`` (cosine 0.997 to fp32, quantization*.txt) is only
    1.1x torch in its batches of 8 and lost one dev question in 110 (backends-recall.txt), so it stays
    opt-in. (The questions asked of a torch index are embedded by ONNX fp32: embed.query_backend.)"""
    if device.startswith("cuda") or (device in ("auto", "cpu") and cpu_has_bf16()):
        return "bf16"
    return "torch"
