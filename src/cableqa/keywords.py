"""Keyword queries for the FTS5 index: the question's content words, OR-ed.

FTS5 ranks with BM25 (IDF weighs rare words up); stop words and question
words are dropped so they do not dilute it.  Each word is quoted, so no
user text can reach FTS5's query syntax.
"""

from __future__ import annotations

import re

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours yourself yourselves
according did does say said says tell told ask asked one ever whether much many
""".split())
_WORD = re.compile(r"[A-Za-z0-9]+")


def terms(text: str) -> list[str]:
    """Content words of ``text``, lower-cased, in order, each once ("Kazakhstan's" -> "kazakhstan")."""
    words = (w.lower() for w in _WORD.findall(text.replace("'s ", " ").replace("’s ", " ")))
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())))


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression OR-ing the content words of ``text`` ("" when there are none)."""
    return " OR ".join(f'"{t}"' for t in terms(text))
