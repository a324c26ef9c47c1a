"""The automatic backend choice (CPU flags faked) and the int8 backend that keeps fp32's quality."""

from __future__ import annotations


import numpy as np
import pytest

from cableqa import config

EPYC_FLAGS = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni"  # a Zen 2/3 EPYC: no bf16, no VNNI
SAPPHIRE_FLAGS = EPYC_FLAGS + " avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    def fake(flags: str) -> None:
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nmodel name\t: Fake CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n"
                        f"flags\t\t: {flags}\n")
        monkeypatch.setattr(config, "CPUINFO", path)

    return fake


def test_cpu_flags_read_from_cpuinfo(cpuinfo):
    cpuinfo(EPYC_FLAGS)
    assert "avx2" in config.cpu_flags() and not config.cpu_has_bf16()
    cpuinfo(SAPPHIRE_FLAGS)
    assert config.cpu_has_bf16()


def test_no_cpuinfo_means_no_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CPUINFO", tmp_path / "missing")
    assert config.cpu_flags() == set() and config.auto_backend("cpu") == "torch"


@pytest.mark.parametrize("flags, device, expected", [
    (EPYC_FLAGS, "cpu", "torch"),  # no bf16: fp32 until onnx-int8-mixed's dev Recall@5 is measured
    (SAPPHIRE_FLAGS, "cpu", "bf16"),  # AMX: today's bf16
    ("avx2 avx512_bf16", "auto", "bf16"),  # AVX512-BF16 alone (Zen 4, Cooper Lake) also counts
    (EPYC_FLAGS, "cuda", "bf16"),  # fp16 on the GPU
    (EPYC_FLAGS, "cuda:1", "bf16"),
    (EPYC_FLAGS, "mps", "torch"),  # another torch device: no ONNX Runtime CPU session there
])
def test_auto_backend(cpuinfo, flags, device, expected):
    cpuinfo(flags)
    assert config.auto_backend(device) == expected


def test_factory_uses_auto_for_a_new_index_and_the_manifest_for_an_old(cpuinfo, tmp_path, monkeypatch):
    from cableqa.embed import embedder_factory

    monkeypatch.delenv("CABLEQA_BACKEND", raising=False)  # a suite run with a backend forced still tests "auto"
    cpuinfo(EPYC_FLAGS)
    make = embedder_factory(config.resolve(index=str(tmp_path / "ix"), device="cpu"))
    assert make(None).backend == "torch"
    assert make({"model": "m", "backend": "bf16"}).backend == "bf16"  # an index keeps its backend
    forced = embedder_factory(config.resolve(index=str(tmp_path / "ix"), device="cpu", backend="torch"))
    assert forced(None).backend == "torch"


@pytest.mark.parametrize("backend, device, size", [
    ("torch", "cpu", 8),  # fp32 on a CPU: its activations stay in cache (benchmarks/batching.py)
    ("bf16", "cpu", 32),
    ("onnx-int8-mixed", "cpu", 32),
    ("onnx", "auto", 32),  # ONNX Runtime runs on the CPU, whatever the device
    ("torch", "cuda", 256),  # a GPU wants wide batches
    ("bf16", "cuda:1", 256),
])
def test_batch_size_per_backend_and_device(backend, device, size):
    from cableqa.embed import batch_size_for, load_embedder

    assert batch_size_for(backend, device) == size
    assert load_embedder(backend=backend, device=device).batch_size == size  # nothing loads yet
    assert load_embedder(backend=backend, device=device, batch_size=5).batch_size == 5


@pytest.mark.parametrize("backend,device,chosen,expected", [
    ("torch", "cpu", "auto", "onnx"),  # the same fp32 weights, half the time for one question
    ("torch", "cuda", "auto", "torch"),
    ("bf16", "cpu", "auto", "bf16"),
    ("onnx-int8-mixed", "cpu", "auto", "onnx-int8-mixed"),
    ("torch", "cpu", "torch", "torch"),  # CABLEQA_QUERY_BACKEND / a Settings choice wins
])
def test_query_backend(backend, device, chosen, expected):
    from cableqa.embed import query_backend

    assert query_backend(backend, device, chosen) == expected


def test_query_backend_setting_is_checked(monkeypatch):
    monkeypatch.setenv("CABLEQA_QUERY_BACKEND", "onnx")
    assert config.resolve().query_backend == "onnx"
    monkeypatch.setenv("CABLEQA_QUERY_BACKEND", "fast")
    with pytest.raises(ValueError, match="query backend must be auto or one of"):
        config.resolve()


@pytest.mark.slow
def test_int8_mixed_is_exported_offline_and_close_to_fp32(tmp_path):
    """Exported from the bundled model into the cache (no hub), only the FFN down-projections in float,
    vectors within cosine 0.99 of torch fp32 (0.998 on average over 2,000 real chunks, benchmarks)."""
    import onnx

    from cableqa import onnx_export
    from cableqa.embed import load_embedder

    texts = ["The ambassador met the Foreign Minister on 12 May to discuss the gas pipeline.",
             "Post recommends that the Department approve the visa request.",
             "KAZAKHSTAN: PRESIDENT NAZARBAYEV ON ELECTIONS\nThe opposition leader was detained in Almaty."]
    fp32 = load_embedder(backend="torch", device="cpu").encode(texts)
    mixed = load_embedder(backend="onnx-int8-mixed", device="cpu", cache_dir=tmp_path)
    vecs = mixed.encode(texts)
    assert np.all((vecs * fp32).sum(1) > 0.99)
    spans = [[(0, 20), (21, len(t))] for t in texts]  # ONNX Runtime pools spans from its own pass too
    _, onnx_parts = mixed.encode_parts(texts, spans)
    _, torch_parts = load_embedder(backend="torch", device="cpu").encode_parts(texts, spans)
    assert all(a.shape == (2, 384) and np.all((a * b).sum(1) > 0.98) for a, b in zip(onnx_parts, torch_parts))
    assert mixed.fingerprint.startswith("model-int8-mixed.onnx:")
    folder = next(tmp_path.glob("*/model.onnx")).parent
    graph = onnx.load(str(folder / "model-int8-mixed.onnx")).graph
    float_matmuls = [n.name for n in graph.node if n.op_type == "MatMul"]
    assert sorted(float_matmuls) == sorted(onnx_export.ffn_down_projections(onnx.load(str(folder / "model.onnx"))))
    assert len(float_matmuls) == 6  # one per layer of MiniLM-L6
    # the fp32 export the int8 files come from embeds a torch index's questions: the same vectors
    torch_model, onnx_model = (load_embedder(backend=b, device="cpu", cache_dir=tmp_path) for b in ("torch", "onnx"))
    questions = ["Who met the minister?", texts[0], texts[2] + " What did he say about the pipeline in May?"]
    for q in questions:
        assert float(onnx_model.encode_query(q) @ torch_model.encode_query(q)) > 0.99999
    assert np.all((onnx_model.encode(questions) * torch_model.encode(questions)).sum(1) > 0.99999)  # padded
