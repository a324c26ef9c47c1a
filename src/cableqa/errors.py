"""The errors a user of cableqa sees: one base class, so a caller can catch them all.

Each message says what went wrong and how to fix it; the CLI shows it as is.
"""

from __future__ import annotations


class CableqaError(RuntimeError):
    """Base of every error cableqa raises for the user to act on."""


class IndexError_(CableqaError):
    """An index directory is missing, damaged, locked or built with another model."""


class EmbedError(CableqaError):
    """The embedding model or backend cannot be loaded or used."""


class AdaptError(CableqaError):
    """Fine-tuning the model on a corpus cannot go ahead."""


class ServeError(CableqaError):
    """The web UI cannot start as asked."""


class Rejected(CableqaError, ValueError):
    """An uploaded file that is not kept; the message says why."""
