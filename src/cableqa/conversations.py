"""Conversations kept in the browser: a page reload restores the chat, earlier ones can be reopened.

The page keeps one JSON value in the browser's localStorage (``gr.BrowserState``,
encrypted with a secret the server keeps beside the index, so it still reads
after a restart): ``{"current": id, "list": [conversation, ...]}``, newest
first.  A conversation holds its chat messages (the HTML the chat showed) and
its turns (question, filters, answer, hits) so follow-up questions and the
export work after a reload.  Old conversations are dropped beyond
:data:`MAX_CONVERSATIONS` or :data:`MAX_CHARS`: localStorage holds a few MB.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import time
from dataclasses import asdict
from pathlib import Path

from .export import Turn
from .render import Answer
from .search import Hit

MAX_CONVERSATIONS = 20
MAX_CHARS = 1_500_000  # the stored JSON, before encryption (which adds about a third)
SECRET_FILE = "browser-secret"
EMPTY = {"current": "", "list": []}


def new_id() -> str:
    return secrets.token_hex(8)


def secret_for(index: Path) -> str:
    """The key the browser copies are encrypted with, kept in ``index``/browser-secret (made once)."""
    path = Path(index) / SECRET_FILE
    try:
        return path.read_text().strip()
    except OSError:
        pass
    value = secrets.token_urlsafe(24)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        pass  # a read-only index: conversations then last until the server restarts
    return value


# -- turns <-> JSON ---------------------------------------------------------------------

def _hit(d: dict) -> Hit:
    return Hit(**{**d, "also": tuple(tuple(a) for a in d.get("also") or ())})


def turn_to_json(turn: Turn) -> dict:
    answer = None if turn.answer is None else {"sentence": turn.answer.sentence, "score": turn.answer.score,
                                               "hit": asdict(turn.answer.hit)}
    return {"question": turn.question, "filters": turn.filters, "answer": answer,
            "hits": [asdict(h) for h in turn.hits]}


def turn_from_json(d: dict) -> Turn:
    a = d.get("answer")
    answer = None if not a else Answer(a["sentence"], _hit(a["hit"]), float(a["score"]))
    return Turn(d["question"], d.get("filters", ""), answer, tuple(_hit(h) for h in d.get("hits") or ()))


# -- the stored value -------------------------------------------------------------------

def _text(content) -> str:
    """A chat message's content as one string (Gradio may hand it back as a list of parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return str(content or "")


def messages_of(chat) -> list[dict]:
    return [{"role": m.get("role"), "content": _text(m.get("content"))} for m in chat or [] if isinstance(m, dict)]


def _title(messages: list[dict], turns: list[dict]) -> str:
    first = turns[0]["question"] if turns else next((m["content"] for m in messages if m["role"] == "user"), "")
    first = html.unescape(re.sub(r"<[^>]+>", " ", first))
    first = " ".join(first.split())
    return first[:70] + ("…" if len(first) > 70 else "") or "(empty)"


def _valid(store) -> dict:
    if not isinstance(store, dict) or not isinstance(store.get("list"), list):
        return {"current": "", "list": []}
    return {"current": str(store.get("current") or ""), "list": [c for c in store["list"] if isinstance(c, dict)
                                                                  and c.get("id")]}


def current(store) -> str:
    """The id of the conversation the page showed last."""
    return _valid(store)["current"]


def save(store, conversation: str, chat, turns) -> dict:
    """``store`` with ``conversation`` holding ``chat`` and ``turns``, moved first (empty: not kept)."""
    store = _valid(store)
    messages = messages_of(chat)
    rest = [c for c in store["list"] if c["id"] != conversation]
    if not messages:
        return {"current": conversation, "list": rest}
    done = [turn_to_json(t) for t in turns or ()]
    entry = {"id": conversation, "title": _title(messages, done), "updated": time.strftime("%Y-%m-%d %H:%M"),
             "messages": messages, "turns": done}
    kept = [entry] + rest[: MAX_CONVERSATIONS - 1]
    while len(kept) > 1 and len(json.dumps(kept, ensure_ascii=False)) > MAX_CHARS:
        kept.pop()
    return {"current": conversation, "list": kept}


def load(store, conversation: str) -> tuple[list[dict], tuple[Turn, ...]] | None:
    """The messages and turns of ``conversation``; None when the store has no such one."""
    for c in _valid(store)["list"]:
        if c["id"] == conversation:
            try:
                return messages_of(c.get("messages")), tuple(turn_from_json(t) for t in c.get("turns") or ())
            except (KeyError, TypeError, ValueError):  # written by another version: the chat without its turns
                return messages_of(c.get("messages")), ()
    return None


def choices(store) -> list[tuple[str, str]]:
    """(label, id) of the kept conversations, newest first, for a picker."""
    return [(f"{c.get('updated', '')} · {c.get('title', '')}", c["id"]) for c in _valid(store)["list"]]
