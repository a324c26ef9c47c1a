"""cableqa: ask questions of diplomatic cables, get cited paragraph excerpts.

The public API is :data:`__all__`; each name loads its module (and that module's
heavy dependencies) on first use, not on ``import cableqa``::

    import cableqa
    result = cableqa.Searcher("embeddings").search("Who suspected the FJK leaders?")
    for hit in result.hits:
        print(hit.citation_line())
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> (module, its name there)
_API = {
    "CableqaError": ("errors", "CableqaError"),  # base of every error a user sees
    "Index": ("index", "Index"),  # open an index directory's live generation
    "index_cables": ("indexer", "run"),  # index (or update) cable files into an index directory
    "embedder_factory": ("embed", "embedder_factory"),  # index_cables' make_embedder from Settings
    "load_embedder": ("embed", "load_embedder"),
    "Report": ("cables", "Report"),  # what reading met: problems and counts
    "Searcher": ("search", "Searcher"),
    "Hit": ("search", "Hit"),
    "Result": ("search", "Result"),
    "Filters": ("filters", "Filters"),
    "Settings": ("config", "Settings"),
    "resolve_settings": ("config", "resolve"),
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'cableqa' has no attribute {name!r}")
    module, attr = _API[name]
    value = getattr(import_module(f".{module}", __name__), attr)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
