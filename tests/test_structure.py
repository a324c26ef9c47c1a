"""The package's shape: SQL only behind the store layer, no import cycles, small modules, a declared API."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import cableqa

PACKAGE = Path(cableqa.__file__).parent
SQL_MODULES = {"store", "index", "indexer", "check"}  # the only modules that talk to SQLite
MAX_LINES = 400


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.glob("*.py"))}


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Package modules ``name`` imports anywhere (inside functions too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cableqa."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("cableqa."))
    return (found & known) - {name, "__init__"}


def test_no_import_cycle():
    trees = _modules()
    graph = {name: _imports(name, tree, set(trees)) for name, tree in trees.items()}
    cycles = []

    def visit(node: str, path: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt], done)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name], done)
    assert not cycles, f"import cycles: {cycles}"


def test_sql_only_in_the_store_layer():
    outside = [f"{name}.py:{node.lineno}" for name, tree in _modules().items() if name not in SQL_MODULES
               for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "conn")]
    assert not outside, f"SQL outside {sorted(SQL_MODULES)}: {outside}"


def test_modules_are_small():
    big = {p.name: n for p in PACKAGE.glob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_declared_api_imports():
    assert cableqa.__all__
    for name in cableqa.__all__:
        assert getattr(cableqa, name) is not None, name


def test_user_errors_share_one_base():
    from cableqa import errors

    for name in ("IndexError_", "EmbedError", "AdaptError", "ServeError", "Rejected"):
        assert issubclass(getattr(errors, name), cableqa.CableqaError), name


def test_every_backend_has_an_embedder_class_and_the_fake_is_one(fake_embedder):
    from cableqa import config, embed

    assert tuple(embed.REGISTRY) == config.BACKENDS
    assert isinstance(fake_embedder, embed.Embedder)


def test_modules_import():
    for p in PACKAGE.glob("*.py"):
        if p.stem not in ("__init__", "__main__"):
            importlib.import_module(f"cableqa.{p.stem}")


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    """The README's "From Python" example, run as written against a small index in ``embeddings/``."""
    import re

    from cableqa import indexer, search

    from conftest import ROOT, FakeEmbedder, cable_record, teletype, write_jsonl

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    src = write_jsonl(tmp_path / "c.jsonl", [cable_record(
        "04TESTVILLE123", teletype("ELECTIONS", ["The embassy reported that the elections were calm.",
                                                 "Turnout was high in the capital."]))])
    indexer.run([src], tmp_path / "embeddings", lambda manifest: FakeEmbedder())
    monkeypatch.setattr(search, "load_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "04TESTVILLE123 ¶1 (C) · Embassy Testville · 2004-03-05" in out
