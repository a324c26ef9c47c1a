"""Adapting the embedding model to a corpus: fine-tuning it on the corpus's own paragraphs.

all-MiniLM-L6-v2 learned from web text.  Cables have their own idiom, and on
the full corpus most wrong answers are paragraphs of the right cable or of
sibling reports from the same post.  No labelled questions exist, so the
training pairs come from the corpus itself (the inverse cloze task): one
sentence of a paragraph is the query, the rest of that paragraph, with its
cable context, is the answer (acronyms as the cable writes them: see
make_pairs).  Each batch holds several paragraphs of each of a few cables, so
the wrong answers the model learns to rank lower include the other paragraphs
of the same cable.

Measured on the dev questions (benchmarks/results/adapt-*.txt): see README.
The result is an ordinary sentence-transformers model folder; re-embed the
corpus with it (``cableqa index --rebuild --model FOLDER``).  torch and
sentence-transformers are imported inside functions.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from .chunks import embedding_input
from .embed import model_path, resolve_device
from .errors import AdaptError
from .text import cable_parts, sentences

META = "cableqa-adapt.json"
MIN_QUERY_WORDS = 8


@dataclass(frozen=True)
class Pair:
    """One training example: a sentence, and its cable context with the rest of its paragraph."""

    cable_id: str
    query: str
    passage: str


def make_pairs(rows: Iterable[tuple[str, str, str]], n: int, seed: int = 0, per_cable: int = 4,
               keep: float = 0.1, batch: int = 32, group: str = "cable") -> list[Pair]:
    """Up to ``n`` pairs from (cable id, paragraph text, cable context) rows, ``per_cable``
    paragraphs from each cable in a row (the order :func:`train` batches them in).
    ``group="post"`` fills each batch of ``batch`` pairs with cables sent in a row by one post.
    Both sides keep the cable's own words, acronyms unexpanded, although the index embeds them
    spelled out: measured on the full corpus, spelling them out in the passages (41-minute
    re-embed: dev R@5 / MRR@10 0.800 / 0.622) or in both sides (0.818 / 0.634 through
    ``benchmarks/model_proxy.py``) trained a worse model than this (0.845 / 0.643).

    A paragraph of three or more sentences gives one pair: a random sentence of at least
    eight words, and the rest of the paragraph (in ``keep`` of the pairs the sentence
    stays in, so that word overlap still counts for something)."""
    rng = random.Random(seed)
    by_cable: dict[str, list[Pair]] = {}
    for cable_id, text, context in rows:
        parts = sentences(text)
        if len(parts) < 3:
            continue
        i = rng.randrange(len(parts))
        if len(parts[i].split()) < MIN_QUERY_WORDS:
            continue
        rest = parts if rng.random() < keep else parts[:i] + parts[i + 1:]
        body = " ".join(rest)
        by_cable.setdefault(cable_id, []).append(Pair(cable_id, parts[i], embedding_input(context, body)[0]))
    cables = sorted(c for c, ps in by_cable.items() if len(ps) >= per_cable)
    if group == "post":  # a post's reports of the same weeks are the hardest wrong answers
        size = max(1, batch // per_cable)
        runs: list[list[str]] = []
        for _, members in groupby(sorted(cables, key=cable_parts), key=lambda c: cable_parts(c)[0]):
            members = list(members)
            runs += [members[i:i + size] for i in range(0, len(members) - size + 1, size)]
        rng.shuffle(runs)
        cables = [c for run in runs for c in run]
    else:
        rng.shuffle(cables)
    pairs: list[Pair] = []
    for cable_id in cables:
        if len(pairs) >= n:
            break
        pairs += rng.sample(by_cable[cable_id], per_cable)
    return pairs[:n]


def train(base: str, pairs: Sequence[Pair], out: Path, batch: int = 32, lr: float = 2e-5, device: str = "auto",
          seed: int = 0, progress: Callable[[int, int, float], None] | None = None, about: dict | None = None
          ) -> dict:
    """Fine-tune ``base`` on ``pairs`` (one pass, in-batch negatives) and save it to ``out``.

    The folder is written beside ``out`` and renamed into place, so ``out`` is either the
    old model or the whole new one.  Returns what was done (also saved as ``out/cableqa-adapt.json``)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from .config import cpu_has_bf16

    steps = len(pairs) // batch
    if steps < 1:
        raise AdaptError(f"only {len(pairs)} training pairs, fewer than one batch of {batch}; "
                         f"adapt needs a larger corpus (paragraphs of 3+ sentences, 4+ per cable)")
    torch.manual_seed(seed)
    device = resolve_device(device)
    st = SentenceTransformer(model_path(base), device=device)
    max_len = st.max_seq_length or 256
    fast = device.startswith("cuda") or cpu_has_bf16()  # mixed precision where the hardware has it
    st.train()
    optimiser = torch.optim.AdamW(st.parameters(), lr=lr)
    warmup = max(1, steps // 10)  # then linear decay to zero
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))

    def encode(texts: list[str], length: int):
        """Through the model's own modules (its pooling, whatever the model uses), normalised."""
        inputs = st.tokenizer(texts, padding=True, truncation=True, max_length=length, return_tensors="pt")
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=fast):
            pooled = st(dict(inputs.to(device)))["sentence_embedding"]
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    started = time.perf_counter()
    losses: list[float] = []
    for step in range(steps):
        part = pairs[step * batch:(step + 1) * batch]
        queries = encode([p.query for p in part], 64)
        passages = encode([p.passage for p in part], max_len)
        # each query's own passage is the answer; the batch's other passages are not (scale 20 as in MNRL)
        loss = torch.nn.functional.cross_entropy(20.0 * queries @ passages.T, torch.arange(len(part), device=device))
        loss.backward()
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        losses.append(loss.item())
        if progress:
            progress(step + 1, steps, losses[-1])
    st.eval()
    meta = {"base_model": base, "pairs": steps * batch, "batch": batch, "lr": lr, "seed": seed,
            "cables": len({p.cable_id for p in pairs[:steps * batch]}), "device": device,
            "seconds": round(time.perf_counter() - started, 1),
            "loss_first_tenth": round(sum(losses[:warmup]) / warmup, 4),
            "loss_last_tenth": round(sum(losses[-warmup:]) / warmup, 4), **(about or {})}
    _save(st, out, meta)
    return meta


def _save(st, out: Path, meta: dict) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    old = out.with_name(f".{out.name}.old")
    for stale in (tmp, old):
        shutil.rmtree(stale, ignore_errors=True)
    st.save(str(tmp))
    (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
