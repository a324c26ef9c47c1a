"""GPU embedding: the whole corpus's chunk texts on one CUDA device, against CPU bf16.

Measures: with CUDA, the time to embed every chunk text (context + chunk text,
as the indexer makes them with ``cableqa.chunks``) of the corpus file
(default: the 18,253 cables of cables.jsonl.xz) with backend ``bf16`` (fp16 on
CUDA), batch 256; also the batch size ``cableqa index`` uses today (the
Embedder's default) on a sample, and the CPU time to prepare the texts (read,
parse, chunk, count tokens), which bounds a GPU run from below.
Baseline: CPU bf16 (the CPU default) on a small sample of the same texts, same run.
Target: none fixed; the numbers feed the Cablegate estimate of docs/scaling.md.
Without CUDA it says so and exits 0 after the CPU baseline.

    python benchmarks/gpu.py [--quick] [--model PATH] [--cables FILE] [--sample 1000] [--batch 256] [--out FILE]

On a GPU box without the model hub, give the model as a local folder (--model PATH).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import _common as c

CABLEGATE_CHUNKS = 3_000_000  # 251,287 cables at 8.7 chunks each (the full 18,253-cable index) is 2.2M; with a margin


def timed_encode(embedder, texts: list[str], block: int) -> tuple[float, np.ndarray]:
    embedder.encode(texts[:: max(1, len(texts) // 512)], block=block)  # warm-up (kernels, allocator)
    t = time.perf_counter()
    vecs = embedder.encode(texts, block=block)
    return time.perf_counter() - t, vecs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model name or local folder (default all-MiniLM-L6-v2)")
    ap.add_argument("--cables", type=Path, default=c.CORPUS, help="cables file (default cables.jsonl.xz)")
    ap.add_argument("--sample", type=int, default=1000, help="texts for the CPU baseline (default 1000)")
    ap.add_argument("--batch", type=int, default=256, help="GPU batch size (default 256)")
    ap.add_argument("--quick", action="store_true", help="subset file, 100-text sample: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.cables, args.sample = c.SUBSET, min(args.sample, 100)

    import torch

    from cableqa.embed import DEFAULT_MODEL, load_embedder

    cuda = torch.cuda.is_available()
    out = c.Output(f"GPU embedding of {args.cables.name} vs CPU bf16", args.out, args.quick)
    out.print(f"CUDA: {torch.cuda.get_device_name(0) if cuda else 'not available'}")
    cpu = load_embedder(args.model or DEFAULT_MODEL, "bf16", device="cpu")
    cpu.dim  # load the model (its tokenizer counts the window sizes) before timing the text preparation
    t = time.perf_counter()
    texts = c.embed_texts(args.cables, cpu.count_tokens, limit=None if cuda else args.sample)
    prep = time.perf_counter() - t
    sample = texts[:args.sample]
    cpu_s, cpu_vecs = timed_encode(cpu, sample, 256)
    rows = [[f"CPU bf16, batch {cpu.batch_size} (baseline)", len(sample), f"{cpu_s:.2f}", f"{len(sample) / cpu_s:.1f}",
             "1.00x"]]
    if cuda:
        gpu = load_embedder(args.model or DEFAULT_MODEL, "bf16", device="cuda", batch_size=args.batch)
        small = load_embedder(args.model or DEFAULT_MODEL, "bf16", device="cuda")  # what `cableqa index --device cuda` uses
        small_s, _ = timed_encode(small, sample, 256)
        torch.cuda.reset_peak_memory_stats()
        gpu_s, vecs = timed_encode(gpu, texts, args.batch)
        cos = np.sum(vecs[:len(sample)] * cpu_vecs, axis=1)
        rows += [[f"CUDA fp16, batch {small.batch_size} (Embedder default)", len(sample), f"{small_s:.2f}",
                  f"{len(sample) / small_s:.1f}", c.ratio(cpu_s / len(sample), small_s / len(sample))],
                 [f"CUDA fp16, batch {args.batch}, whole file", len(texts), f"{gpu_s:.2f}",
                  f"{len(texts) / gpu_s:.1f}", c.ratio(cpu_s / len(sample), gpu_s / len(texts))]]
    out.print(f"texts: {len(texts)} chunks prepared on the CPU in {prep:.1f} s ({len(texts) / prep:.0f}/s: read, "
              f"parse, chunk, count tokens)" if cuda else f"texts: a sample of {len(texts)} chunks", "",
              c.table(["measure", "texts", "seconds", "chunks/s", "ratio to CPU"], rows), "")
    if not cuda:
        out.print("no CUDA device here: only the CPU baseline was measured.",
                  f"CPU bf16 for Cablegate ({CABLEGATE_CHUNKS:,} chunks): "
                  f"{CABLEGATE_CHUNKS * cpu_s / len(sample) / 3600:.1f} h of embedding on this machine.")
    else:
        out.print(f"agreement with CPU bf16 on the sample: cos mean {cos.mean():.4f}, min {cos.min():.4f}; "
                  f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB",
                  f"Cablegate ({CABLEGATE_CHUNKS:,} chunks) at these rates: "
                  f"{CABLEGATE_CHUNKS * gpu_s / len(texts) / 60:.0f} min of GPU embedding; "
                  f"{CABLEGATE_CHUNKS * prep / len(texts) / 60:.0f} min of single-process text preparation.")
    out.save()


if __name__ == "__main__":
    main()
