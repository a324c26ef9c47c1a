"""Where does int8 lose quality, and which recipe keeps it: ONNX int8 variants against torch fp32.

Each recipe quantises the same BERT-fused fp32 export (``cableqa.onnx_export``) with ONNX
Runtime's dynamic quantisation, keeping some parts in float:

* ``all``: everything ORT quantises (embeddings, fused attention, every MatMul): the old onnx-int8;
* ``no-embed``: the embedding tables (EmbedLayerNormalization) kept float;
* ``matmul``: only the MatMuls (fused attention's QKV projection and embeddings kept float);
* ``no-ffn2``: ``all`` but the FFN down-projections (MatMul of the GELU output) kept float:
  the ``onnx-int8-mixed`` backend;
* ``matmul-no-ffn2``: ``matmul`` without the FFN down-projections.

Run it with ``LD_PRELOAD`` of ``avx2_only.c`` (see there) to see an AVX2-only CPU.

Measures, on real chunk texts (context + chunk, subset cables, seeded order): the embedding speed
ratio to torch fp32 (interleaved rounds on the same texts: torch, recipe, recipe, ..., torch ...;
medians), the cosine of each recipe's vectors to torch fp32's (mean, min) and the top-10 neighbour
overlap among the texts (each text's 10 nearest neighbours by the recipe against by torch fp32).
torch runs fp32 (float32 matmul precision "highest", no autocast): the baseline of a CPU without bf16.

    python benchmarks/quantization.py [--speed-texts 500] [--texts 2000] [--rounds 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import _common as c

RECIPES = ("all", "no-embed", "matmul", "no-ffn2", "matmul-no-ffn2")


def quantise(fp32: Path, out: Path, recipe: str) -> Path:
    import onnx

    from cableqa import onnx_export

    ops = None if recipe in ("all", "no-ffn2") else ["MatMul", "Attention"] if recipe == "no-embed" else ["MatMul"]
    keep = onnx_export.ffn_down_projections(onnx.load(str(fp32))) if recipe.endswith("no-ffn2") else []
    onnx_export.quantise(fp32, out, keep, ops)
    return out


def top_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean share of each text's k nearest neighbours (itself excluded) that ``a`` and ``b`` agree on."""
    def knn(v):
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.argpartition(-sims, k, axis=1)[:, :k]

    na, nb = knn(a), knn(b)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed-texts", type=int, default=500, help="texts timed per round (default 500)")
    ap.add_argument("--texts", type=int, default=2000, help="texts for cosine and neighbour overlap (default 2000)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (default 3)")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    ap.add_argument("--cache", default="/tmp/cableqa-bench-quant", help="folder of the export and the recipes")
    ap.add_argument("--quick", action="store_true", help="100/200 texts, 1 round: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    if args.quick:
        args.speed_texts, args.texts, args.rounds = 100, 200, 1

    import onnxruntime as ort
    import torch

    from cableqa import onnx_export
    from cableqa.embed import DEFAULT_MODEL, load_embedder, _normalise

    out = c.Output("ONNX int8 recipes against torch fp32: speed ratio (same run), cosine, top-10 overlap",
                   args.out, args.quick)
    torch_emb = load_embedder(DEFAULT_MODEL, "torch", device="cpu")
    onnx_emb = load_embedder(DEFAULT_MODEL, "onnx", device="cpu", cache_dir=args.cache)
    onnx_emb.dim  # exports the fp32 model once into the cache
    folder = next(Path(args.cache).glob("*/model.onnx")).parent
    out.print(f"torch float32 matmul precision: {torch.get_float32_matmul_precision()}, torch CPU capability "
              f"{torch.backends.cpu.get_cpu_capability()}, onnxruntime {ort.__version__}, "
              f"LD_PRELOAD {__import__('os').environ.get('LD_PRELOAD') or 'none'}")
    encoders = {"torch": torch_emb._ensure()}
    for recipe in args.recipes:
        path = folder / f"model-{recipe}.onnx"
        if not path.exists():
            quantise(folder / "model.onnx", path, recipe)
        options = ort.SessionOptions()
        options.intra_op_num_threads = len(__import__("os").sched_getaffinity(0))
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        tok = onnx_export.load(folder, None, "onnx")[1]
        encoders[recipe] = onnx_export.encoder(session, tok, "mean", 32)

    texts = c.embed_texts(c.SUBSET, torch_emb.count_tokens, limit=max(args.texts, args.speed_texts))
    texts.sort(key=len)  # what Embedder.encode does: short with short
    timed = texts[:: max(1, len(texts) // args.speed_texts)][: args.speed_texts]
    out.print(f"{len(timed)} timed texts x {args.rounds} rounds; {len(texts)} texts for agreement; batch 32", "")
    for enc in encoders.values():
        enc(timed[::25])  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(args.rounds):
        for name, enc in encoders.items():
            t = time.perf_counter()
            enc(timed)
            seconds[name].append(time.perf_counter() - t)
    vecs = {name: np.concatenate([_normalise(enc(texts[i:i + 256])) for i in range(0, len(texts), 256)])
            for name, enc in encoders.items()}
    base = statistics.median(seconds["torch"])
    rows = []
    for name in encoders:
        med = statistics.median(seconds[name])
        cos = (vecs[name] * vecs["torch"]).sum(1)
        rows.append([name, f"{med:.2f}", f"{len(timed) / med:.1f}", c.ratio(base, med),
                     f"{cos.mean():.4f}", f"{cos.min():.4f}", f"{top_overlap(vecs[name], vecs['torch']):.3f}"])
    out.print(c.table(["recipe", "median s", "texts/s", "speed vs torch", "cos mean", "cos min", "top-10 overlap"],
                      rows))
    out.save()


if __name__ == "__main__":
    main()
