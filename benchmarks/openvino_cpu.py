"""OpenVINO on CPU: is it a faster embedding backend than torch fp32 (issue 19)?

Question: do OpenVINO's PyPI wheels, fp32 and int8 (NNCF post-training quantisation with its
transformer preset, calibrated on 300 other chunk texts), embed paragraphs at least 2x faster
than torch fp32, and how close are their vectors?  Not a cableqa backend: this script answers
whether it should become one.  It needs the wheels, which install offline here but are no
dependency of cableqa:

    pip install openvino nncf
    python benchmarks/openvino_cpu.py [--quick] [--texts 400]
    LD_PRELOAD=/tmp/avx2_only.so python benchmarks/openvino_cpu.py   # a CPU without AVX-512, VNNI or bf16

The model converts from the bundled sentence-transformers weights (``openvino.convert_model``
on the torch module; nothing is downloaded).  Inputs are padded to a multiple of 32 tokens, so
the compiled model sees at most 8 shapes, and every shape is run once before the timing.
Baseline: cableqa's torch backend at its default batch size, same texts, same run.
(Not named openvino.py: from benchmarks/ that would shadow the package.)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import _common as c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=400, help="chunk texts to embed (default 400)")
    ap.add_argument("--quick", action="store_true", help="40 texts, 40 calibration texts: checks the script")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    calibration = 40 if args.quick else 300
    if args.quick:
        args.texts = 40
    try:
        import nncf
        import openvino as ov
    except ImportError as exc:
        raise SystemExit(f"needs OpenVINO and NNCF: pip install openvino nncf ({exc})")
    from cableqa.embed import DEFAULT_MODEL, load_embedder

    out = c.Output("OpenVINO fp32 and int8 against torch fp32 on CPU: throughput, cosine", args.out, args.quick)
    torch_emb = load_embedder(DEFAULT_MODEL, "torch", device="cpu")
    st = torch_emb._load_st()
    texts = c.embed_texts(c.SUBSET, torch_emb.count_tokens, limit=args.texts + calibration)
    texts, calib = texts[:args.texts], texts[args.texts:]
    tok = st.tokenizer
    names = ("input_ids", "attention_mask", "token_type_ids")

    def feeds(batch: list[str]) -> dict:
        enc = tok(batch, padding=True, truncation=True, max_length=st.max_seq_length, pad_to_multiple_of=32,
                  return_tensors="np")
        return {k: enc[k] for k in names}

    def encode(model, batch_size: int = 32) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vecs = np.zeros((len(texts), torch_emb.dim), np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            feed = feeds([texts[i] for i in idx])
            hidden = model(feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            v = (hidden * mask).sum(1) / mask.sum(1)
            vecs[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return vecs

    example = tok(["a short one", "a slightly longer example text"], padding=True, return_tensors="pt")
    t = time.perf_counter()
    fp32 = ov.convert_model(st[0].auto_model.float().eval(), example_input={k: example[k] for k in names})
    convert = time.perf_counter() - t
    t = time.perf_counter()
    int8 = nncf.quantize(fp32.clone(), nncf.Dataset([feeds(calib[i:i + 16]) for i in range(0, len(calib), 16)]),
                         model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calib))
    quantise = time.perf_counter() - t
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": len(os.sched_getaffinity(0)), "PERFORMANCE_HINT": "LATENCY"}
    compiled = {"openvino fp32": core.compile_model(fp32, "CPU", config),
                "openvino int8 (nncf)": core.compile_model(int8, "CPU", config)}
    precision = compiled["openvino fp32"].get_property("INFERENCE_PRECISION_HINT")
    out.print(f"{len(texts)} texts, {len(calib)} calibration texts; openvino {ov.__version__}, nncf "
              f"{nncf.__version__}; conversion {convert:.1f} s, quantisation {quantise:.1f} s; the fp32 model "
              f"runs in {precision} on this CPU", "")

    torch_emb.encode(texts[:torch_emb.batch_size])
    t = time.perf_counter()
    ref = torch_emb.encode(texts)
    seconds = {"torch (cableqa)": time.perf_counter() - t}
    vecs = {"torch (cableqa)": ref}
    for name, model in compiled.items():
        encode(model)  # compiles every padded shape once
        t = time.perf_counter()
        vecs[name] = encode(model)
        seconds[name] = time.perf_counter() - t
    rows = []
    for name, s in seconds.items():
        cos = np.sum(vecs[name] * ref, axis=1)
        rows.append([name, f"{s:.2f}", f"{len(texts) / s:.1f}", c.ratio(seconds["torch (cableqa)"], s),
                     f"{cos.mean():.4f}", f"{cos.min():.4f}"])
    out.print(c.table(["backend", "encode s", "paragraphs/s", "ratio to torch", "cos mean", "cos min"], rows))
    out.save()


if __name__ == "__main__":
    main()
