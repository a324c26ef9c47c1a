"""Export a sentence-transformers model to ONNX (optionally int8) and run it with ONNX Runtime.

Everything happens locally from the already-installed model; nothing is
downloaded.  The export is cached in a folder (``<index>/onnx/<model>/``):
``model.onnx`` (fp32, BERT-fused), ``tokenizer.json`` and ``meta.json``
(pooling, dimension, window), and the int8 variants, each quantised from
``model.onnx`` on first use (:data:`FILES`).

Where int8 loses quality (benchmarks/quantization.py): ORT's dynamic
quantisation gives each activation tensor one uint8 scale, and the input of
each FFN down-projection (the GELU output) has one channel ~10x larger than
the rest, so that MatMul's input is quantised coarsely; the error grows layer
by layer.  Keeping those six MatMuls in float (``onnx-int8-mixed``) brings the
cosine to fp32 from 0.994 to 0.998; embeddings, attention and the other
MatMuls cost little quality and stay int8.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import sentences
from .errors import EmbedError

FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx", "onnx-int8-mixed": "model-int8-mixed.onnx"}


def _export(folder: Path, load_st: Callable) -> None:
    import torch

    st = load_st()
    names = [type(m).__name__ for m in st]
    if names[:2] != ["Transformer", "Pooling"] or any(n != "Normalize" for n in names[2:]):
        raise EmbedError(f"ONNX export supports Transformer+Pooling models; this one has {names}. "
                         "Use --backend torch.")
    pooling = st[1]
    mode = "cls" if getattr(pooling, "pooling_mode_cls_token", False) else "mean"
    hf = st[0].auto_model.float().eval()
    config = hf.config
    if hasattr(config, "_attn_implementation"):
        config._attn_implementation = "eager"  # exports as plain ops that ORT fuses into Attention

    class Wrapped(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    enc = st.tokenizer(["a short one", "a slightly longer example text"], padding=True, return_tensors="pt")
    args = tuple(enc[k] if k in enc else torch.zeros_like(enc["input_ids"])
                 for k in ("input_ids", "attention_mask", "token_type_ids"))
    axes = {k: {0: "batch", 1: "tokens"} for k in ("input_ids", "attention_mask", "token_type_ids", "hidden")}
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():  # the tracer's notes on the masking code (test_backends compares the result)
            warnings.simplefilter("ignore")
            torch.onnx.export(Wrapped(hf), args, str(raw), input_names=list(axes)[:3], output_names=["hidden"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        from onnxruntime.transformers import optimizer

        fused = Path(tmp) / "model.onnx"
        optimizer.optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                                 hidden_size=config.hidden_size).save_model_to_file(str(fused))
        st.tokenizer.save_pretrained(tmp)
        meta = {"pooling": mode, "dim": int(config.hidden_size), "max_tokens": int(st.max_seq_length or 256),
                "normalize": "Normalize" in names}
        (Path(tmp) / "meta.json").write_text(json.dumps(meta))
        for name in ("model.onnx", "tokenizer.json", "meta.json"):  # meta.json last: it marks a finished export
            os.replace(Path(tmp) / name, folder / name)


def ffn_down_projections(model) -> list[str]:
    """Names of the MatMuls whose input is a GELU output (each layer's FFN down-projection)."""
    producer = {out: node.op_type for node in model.graph.node for out in node.output}
    return [node.name for node in model.graph.node
            if node.op_type == "MatMul" and producer.get(node.input[0]) in ("BiasGelu", "Gelu", "FastGelu")]


def quantise(fp32: Path, out: Path, keep_float: list[str] | None = None, op_types: list[str] | None = None) -> None:
    """Dynamic int8 (per-channel weights) of ``fp32`` into ``out``, the nodes ``keep_float`` left in float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        quantize_dynamic(str(fp32), str(Path(tmp) / out.name), op_types_to_quantize=op_types,
                         nodes_to_exclude=keep_float or None, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(Path(tmp) / out.name, out)


def model_file(folder: Path, load_st: Callable, backend: str) -> Path:
    """The ONNX file of ``backend`` in ``folder``, exported and quantised on first use."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "meta.json").exists():
        _export(folder, load_st)
    path = folder / FILES[backend]
    if not path.exists():
        import onnx

        keep = ffn_down_projections(onnx.load(str(folder / "model.onnx"))) if backend == "onnx-int8-mixed" else []
        quantise(folder / "model.onnx", path, keep)
    return path


def fingerprint(path: Path) -> str:
    """Short content hash of a model file: recorded in the manifest, so a re-export that differs shows."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return f"{path.name}:{digest.hexdigest()[:12]}"


def load(folder: Path, load_st: Callable, backend: str, threads: int | None = None):
    """(session, tokenizer, pooling, dim, max_tokens, fingerprint) of ``backend``'s model in ``folder``."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    path = model_file(folder, load_st, backend)
    meta = json.loads((folder / "meta.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=meta["max_tokens"])
    tokenizer.enable_padding()
    return session, tokenizer, meta["pooling"], meta["dim"], meta["max_tokens"], fingerprint(path)


def encoder(session, tokenizer, pooling: str, batch_size: int):
    """The backend's batch encoder (:data:`cableqa.embed.Batch`): pooled vectors, and with spans
    the vectors of each text's spans (:func:`cableqa.sentences.pool`) from the same pass."""
    inputs = {i.name for i in session.get_inputs()}

    def encode(texts: list[str], spans: list | None) -> tuple[np.ndarray, list[np.ndarray] | None]:
        out, pooled = [], [] if spans is not None else None
        for start in range(0, len(texts), batch_size):
            batch = tokenizer.encode_batch(texts[start:start + batch_size])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, {k: v for k, v in feed.items() if k in inputs})[0]
            if pooling == "cls":
                out.append(hidden[:, 0])
            else:
                m = mask[..., None].astype(np.float32)
                out.append((hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9))
            if pooled is not None:
                pooled += [sentences.pool(h, np.array(e.offsets), sp)
                           for h, e, sp in zip(hidden, batch, spans[start:start + batch_size])]
        return np.concatenate(out), pooled

    return encode
