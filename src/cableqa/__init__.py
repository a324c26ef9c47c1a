"""cableqa: ask questions of diplomatic cables, get cited paragraph excerpts.

Library API (heavy dependencies load on first use, not on import)::

    from cableqa.search import Searcher
    hits = Searcher("embeddings").search("Who suspected the FJK leaders?").hits
"""

__version__ = "0.1.0"
