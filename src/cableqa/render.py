"""HTML for the chat UI: answers with cited excerpts, whole cables, the index status.

Cable text is data.  Every piece of it goes through :func:`safe`, which
escapes HTML *and* neutralises Markdown (the chat renders messages as
Markdown before sanitising them), so ``<script>``, ``**bold**`` or
``[link](http://x)`` inside a cable show up as the characters they are.
Each chat message is one line of HTML that starts with ``<div``: Markdown
treats it as a raw HTML block and leaves it alone.

Citations are ``<a href="#cable/ID/ORDINAL">`` links (:func:`cite_link`); a
small script in the page (``ui.CLICK_JS``) turns a click into "open this
cable at this paragraph".

The extractive answer (:func:`pick_answer`) is one sentence of the top
paragraphs, verbatim, chosen by embedding similarity to the question with
keyword overlap as a tie-breaker: never generated text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .index import CableView
from .keywords import terms
from .search import Hit, Result
from .text import WORD_ANY_CASE, prose_sentences

ANSWER_FROM = 3  # the extractive answer comes from the top paragraphs only
MIN_WORDS = 4  # shorter sentences ("End note.") are not answers
OVERLAP_WEIGHT = 0.3
SHORTLIST = 5  # sentences the model re-reads for the answer when stored sentence vectors chose them

# After html.escape, the characters Markdown gives a meaning become numeric entities: plain text to it
# ($ because the chat renders $$…$$ as LaTeX; : and / so that no bare URL is auto-linked).  Not "#" or
# ";": the entities html.escape wrote contain them (and a heading needs "#" at a line's start).
_MD_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "\\`*_[]()+-!|~$:/={}"})


def safe(text: str) -> str:
    """``text`` as inert HTML: escaped, Markdown-neutral, line breaks kept."""
    escaped = html.escape(text or "", quote=True).translate(_MD_INERT)
    return "<br>".join(escaped.splitlines()) if "\n" in escaped or "\r" in escaped else escaped


def _is_term(word: str, wanted: set[str]) -> bool:
    w = word.lower()
    return w in wanted or (w.endswith("s") and w[:-1] in wanted) or (w.endswith("es") and w[:-2] in wanted)


def highlight(text: str, wanted: Iterable[str]) -> str:
    """``text`` made :func:`safe`, with the words in ``wanted`` (lower-case) wrapped in ``<mark>``.

    Highlighting works on the raw text and escapes each piece, so a term can
    never match inside an entity or a tag.
    """
    wanted = set(wanted)
    if not wanted:
        return safe(text)
    out, last = [], 0
    for m in WORD_ANY_CASE.finditer(text or ""):
        if _is_term(m.group(), wanted):
            out.append(safe(text[last:m.start()]))
            out.append(f"<mark>{safe(m.group())}</mark>")
            last = m.end()
    out.append(safe((text or "")[last:]))
    return "".join(out)


@dataclass(frozen=True)
class Answer:
    """The sentence that best answers the question, verbatim, and the hit it comes from."""

    sentence: str
    hit: Hit
    score: float


def pick_answer(question: str, hits: Sequence[Hit], encode: Callable[[list[str]], np.ndarray],
                top: int = ANSWER_FROM, scored: Callable[[Hit], list[tuple[int, int, float]]] | None = None
                ) -> Answer | None:
    """The sentence of the top ``top`` hits most similar to ``question`` (``encode``: normalised vectors).

    Each sentence is embedded after its cable's subject, which tells what a
    "He said that..." is about; the share of the question's words it holds
    breaks near-ties.  With ``scored`` (a hit's stored sentence vectors' cosines
    with the question, as ``(start, end, cosine)`` in its text:
    ``Searcher.sentence_scores``), only the :data:`SHORTLIST` sentences they rank
    best are embedded; the model pass is most of an answer's time on a CPU
    without bf16.  (``benchmarks/answer.py``: the sentence quoted holds the
    evidence about as often either way; the shortlist takes half the time.)
    """
    candidates = [(s, h) for h in hits[:top] for s in prose_sentences(h.text)]
    if not candidates or not question.strip():
        return None
    candidates = [c for c in candidates if len(c[0].split()) >= MIN_WORDS] or candidates
    wanted = set(terms(question))

    def overlap(sentence: str) -> float:
        return len(wanted & set(terms(sentence))) / len(wanted) if wanted else 0.0

    if scored is not None and len(candidates) > SHORTLIST:
        prior = _stored_cosines(candidates, scored)
        order = sorted(range(len(candidates)), key=lambda i: -(prior[i] + OVERLAP_WEIGHT * overlap(candidates[i][0])))
        candidates = [candidates[i] for i in sorted(order[:SHORTLIST])]
    vectors = encode([question] + [f"{h.subject}. {s}" if h.subject else s for s, h in candidates])
    similarity = vectors[1:] @ vectors[0]
    best = None
    for (sentence, hit), sim in zip(candidates, similarity):
        score = float(sim) + OVERLAP_WEIGHT * overlap(sentence)
        if best is None or score > best.score:
            best = Answer(sentence, hit, score)
    return best


def _stored_cosines(candidates: list[tuple[str, Hit]], scored: Callable[[Hit], list[tuple[int, int, float]]]
                    ) -> list[float]:
    """Each candidate sentence's best cosine among the stored sentence vectors that overlap it in its
    hit's text (-1 where none does: the shortlist takes it last)."""
    spans: dict[int, list[tuple[int, int, float]]] = {}
    ends: dict[int, int] = {}  # per hit: where the previous candidate sentence was found
    out = []
    for sentence, hit in candidates:
        if id(hit) not in spans:
            spans[id(hit)] = scored(hit)
        at = hit.text.find(sentence, ends.get(id(hit), 0))
        if at < 0:
            out.append(-1.0)
            continue
        end = ends[id(hit)] = at + len(sentence)
        out.append(max((c for a, b, c in spans[id(hit)] if a < end and b > at), default=-1.0))
    return out


# -- chat answers ------------------------------------------------------------------------

def cite_link(cable_id: str, ordinal: int | None, label: str) -> str:
    """A link that opens ``cable_id`` at paragraph ``ordinal``: ``href="#cable/ID/ORDINAL"``.

    The target rides in the href because the chat's sanitiser drops ``data-*``
    attributes; the page script (``ui.CLICK_JS``) reads it on click.
    """
    target = html.escape(cable_id, quote=True) + ("" if ordinal is None else f"/{int(ordinal)}")
    return f'<a class="cq-cite" href="#cable/{target}" title="Open the cable">{safe(label)}</a>'


def _citation_line(hit: Hit) -> str:
    line = " · ".join([cite_link(hit.cable_id, hit.ordinal, hit.citation)] + [safe(p) for p in hit.about()])
    if hit.also:
        line += ' <span class="cq-also">· same words also in ' + ", ".join(
            cite_link(cable, ordinal, label) for cable, ordinal, label in hit.also) + "</span>"
    return line


def _hit_text(hit: Hit, wanted: set[str], answer: Answer | None) -> str:
    if answer is None or answer.hit != hit:
        return highlight(hit.text, wanted)
    at = hit.text.find(answer.sentence)
    if at < 0:
        return highlight(hit.text, wanted)
    end = at + len(answer.sentence)
    return (highlight(hit.text[:at], wanted) + '<span class="cq-answer-sentence">'
            + highlight(answer.sentence, wanted) + "</span>" + highlight(hit.text[end:], wanted))


def user_html(question: str) -> str:
    return f'<div class="cq-question">{safe(question)}</div>'


def message_html(text: str) -> str:
    """A plain message in the chat (errors, hints)."""
    return f'<div class="cq-answer"><p class="cq-note">{safe(text)}</p></div>'


def answer_html(result: Result, answer: Answer | None) -> str:
    """The chat answer: notes, the extractive answer, and each hit as a cited excerpt."""
    wanted = set(terms(result.question))
    parts = ['<div class="cq-answer">']
    for note in result.notes:
        parts.append(f'<p class="cq-note">{safe(note)}</p>')
    if result.filters:
        parts.append(f'<p class="cq-filters">Filters applied: {safe(result.filters.describe())}</p>')
    if result.understood:  # what the question itself set (period, country, named cable): the user can check it
        parts.append(f'<p class="cq-understood">Understood: {safe(result.understood)}</p>')
    if answer is not None:
        parts.append('<blockquote class="cq-extract">“' + safe(answer.sentence) + "” — "
                     + cite_link(answer.hit.cable_id, answer.hit.ordinal, answer.hit.citation) + "</blockquote>")
    if result.hits:
        parts.append('<ol class="cq-hits">')
        for hit in result.hits:
            parts.append(f'<li class="cq-hit"><div class="cq-citeline">{_citation_line(hit)}</div>'
                         f'<div class="cq-text">{_hit_text(hit, wanted, answer)}</div></li>')
        parts.append("</ol>")
    parts.append("</div>")
    return "".join(parts)


# -- the cable viewer --------------------------------------------------------------------

EMPTY_CABLE = ('<div class="cq-cable cq-empty">The cable an answer cites opens here, at the cited paragraph; '
               'click any citation to read its cable.</div>')


def _field_row(name: str, value: str) -> str:
    return f"<tr><th>{safe(name)}</th><td>{value}</td></tr>"


def cable_html(view: CableView, target: int | None = None) -> str:
    """A whole cable: header metadata, references both ways, every paragraph; ``target`` highlighted."""
    refs = [cite_link(r, None, r) for r in view.references]
    refs += [f'<span class="cq-missing" title="not in this index">{safe(r)}</span>' for r in view.references_missing]
    ref_text = view.fields.get("ref")
    rows = [_field_row("Origin", safe(view.origin)), _field_row("Date", safe(view.created.replace("T", " "))),
            _field_row("Classification", safe(view.classification)), _field_row("Tags", safe(", ".join(view.tags)))]
    if ref_text or refs:
        rows.append(_field_row("REF", (safe(ref_text) + " → " if ref_text else "") + (", ".join(refs) or "—")))
    rows.append(_field_row("Cited by", ", ".join(cite_link(c, None, c) for c in view.cited_by) or "none in this index"))
    for key, label in (("preamble", "To"), ("classified_by", "Classified by"), ("eo", "E.O.")):
        if view.fields.get(key):
            rows.append(_field_row(label, safe(view.fields[key])))
    paras = []
    for p in view.paragraphs:
        label = f"¶{p['para']}" if p["para"] else f"[{p['ordinal']}]"
        label += f" ({p['marking']})" if p["marking"] else ""
        cls = "cq-para cq-target" if p["ordinal"] == target else "cq-para"
        section = f'<div class="cq-section">{safe(p["section"])}</div>' if p["section"] else ""
        paras.append(f'{section}<div class="{cls}" id="cq-p-{int(p["ordinal"])}">'
                     f'<span class="cq-plabel">{safe(label)}</span> {safe(p["text"])}</div>')
    if not paras:  # truncated releases: the header survives, the text does not
        paras.append('<div class="cq-para cq-empty">This cable has no paragraph text in the source, '
                     'only its header.</div>')
    signature = f'<div class="cq-signature">{safe(view.signature)}</div>' if view.signature else ""
    return (f'<div class="cq-cable" data-cable="{html.escape(view.id, quote=True)}">'
            f'<div class="cq-cable-head"><h2 class="cq-cable-id">{safe(view.id)}</h2>'
            f'<div class="cq-subject">{safe(view.subject)}</div></div>'
            f'<table class="cq-fields">{"".join(rows)}</table>{"".join(paras)}{signature}</div>')


def cable_missing_html(wanted: str) -> str:
    return f'<div class="cq-cable cq-empty">No cable {safe(wanted)} in this index.</div>'


def status_html(info: dict) -> str:
    """One line: what the index holds and when it was last updated."""
    return (f'<div class="cq-status">Index: {int(info.get("cables", 0)):,} cables · '
            f'{int(info.get("chunks", 0)):,} chunks · model {safe(str(info.get("model", "")))} '
            f'({safe(str(info.get("backend", "")))}) · updated {safe(str(info.get("updated", "")).replace("T", " "))}'
            "</div>")
