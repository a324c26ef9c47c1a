"""The chat page's workspace parts (issue 18): conversations kept in the browser, cables added from the
page with indexing progress, the sources panel, and each answer's matching cables at a glance.

:func:`attach` adds them inside ``ui.build_app``'s Blocks: a sidebar (conversations; with a
:class:`Desk`, the upload box, the indexing progress and the sources) and, below the chat, the
timeline by month with counts by post and by TAGS.  Selecting months on the chart (a click on a
bar, or a drag across bars), a post or a tag sets the filter boxes for the next question.  The
handlers never raise at the user; no file path from the request is trusted (uploads get names of
our own, a source to remove must be one the index lists).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from . import conversations, glance
from .cables import Problem
from .filters import Filters
from .ingest import UPLOADS, Ingest, Progress, accept_uploads
from .render import safe

UPLOAD_TYPES = [".txt", ".text", ".csv", ".jsonl", ".ndjson", ".json", ".gz", ".xz"]
REMOVED = ".removed"  # hidden: neither the readers nor the watcher look inside
PROBLEMS_SHOWN = 50
# Vega draws the chart's drag-to-select area as an svg shape with no text: it is a pointer gesture's
# surface, not content, so it is hidden from screen readers (the note above the chart says what it does).
# A click on one bar hands its period (its aria-label, "month: 2005-11; cables: 4") to a hidden box,
# stamped so that the same bar clicked twice still counts.
CHART_JS = """() => {
  const hide = () => document.querySelectorAll('#cq-timeline [class*="brush"]').forEach(
    (el) => el.setAttribute("aria-hidden", "true"));
  new MutationObserver(hide).observe(document.body, {childList: true, subtree: true});
  hide();
  document.addEventListener("click", (e) => {
    const bar = e.target.closest && e.target.closest('#cq-timeline path[aria-roledescription="bar"]');
    const period = bar && ((bar.getAttribute("aria-label") || "").match(/^[^:;]+:\\s*(\\d{4}(?:-\\d{2})?);/) || [])[1];
    const box = document.querySelector("#cq-bar-click textarea");
    if (!period || !box) return;
    box.value = period + " " + Date.now();
    box.dispatchEvent(new Event("input", {bubbles: true}));
  });
}"""
GLANCE_HINT = '<div class="cq-glance-note">Ask a question to see when and from where its cables came.</div>'
CSS = """
.cq-progress progress { width: 100%; height: 0.9em; }
.cq-progress, .cq-sources, .cq-glance-note { font-size: 0.9em; }
.cq-problems { margin: 0.3em 0; padding-left: 1.2em; max-height: 14em; overflow-y: auto; }
.cq-problems li { margin: 0.15em 0; }
.cq-hidden { display: none !important; }
.cq-where { font-family: ui-monospace, monospace; }
.cq-sources { max-height: 22em; overflow-y: auto; }
.cq-sources table { width: 100%; border-collapse: collapse; }
.cq-sources td, .cq-sources th { text-align: left; padding: 0.1em 0.4em; border-bottom: 1px solid #ddd; }
.cq-sources td.cq-n { text-align: right; }
/* the panels refresh every second: no loading overlay or dimming over what they show */
#cq-progress [data-testid="status-tracker"], #cq-sources [data-testid="status-tracker"] { display: none !important; }
#cq-progress .pending, #cq-sources .pending { opacity: 1 !important; }
"""


@dataclass(frozen=True)
class FilterBoxes:
    """The chat's filter inputs, which a chart, post or tag selection sets."""

    origin: gr.Textbox
    since: gr.Textbox
    until: gr.Textbox
    classification: gr.Dropdown
    tags: gr.Textbox

    def all(self) -> list:
        return [self.origin, self.since, self.until, self.classification, self.tags]


class Desk:
    """The server side of adding and removing cables: the corpus folder, the indexing worker, who may.

    ``require_login``: served beyond loopback, only a logged-in user may upload or remove (the
    server refuses such an address without --auth anyway; this holds if that ever changes).
    """

    def __init__(self, engine, corpus: Path, index: Path, make_embedder=None, require_login: bool = False,
                 watch: bool = False):
        self.engine = engine
        self.corpus, self.index = Path(corpus), Path(index)
        self.require_login = require_login
        self._make_other = make_embedder
        self.ingest = Ingest(self.index, self._embedder_for, self.corpus)
        self.watcher = None
        if watch:  # catches up on the whole folder first, uploads included
            from .watch import watch_into

            self.watcher = watch_into(self.ingest, self.corpus)
        elif (uploads := self.corpus / UPLOADS).is_dir() and any(uploads.iterdir()):
            # an upload the server was stopped (or killed) in the middle of is finished now; the rest
            # is unchanged, so it is read again but not embedded again
            self.ingest.submit([uploads], "uploads: finishing any not yet indexed")

    def _embedder_for(self, manifest: dict | None):
        """The model the chat already loaded when the index uses it (no second copy in memory)."""
        def loaded(s):  # loaded under the engine's lock: two threads loading one model at once corrupt it
            s.embedder.encode_query("warm up")
            return s.embedder

        mine = self.engine.with_searcher(loaded)
        if manifest is None or (mine.model, mine.backend) == (manifest.get("model"), manifest.get("backend")) \
                or self._make_other is None:
            return mine
        return self._make_other(manifest)

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.ingest.close()

    # -- shown in the page ---------------------------------------------------------------
    def _where(self, where: str) -> str:
        """A problem's place without the server's folders: "uploads/new.jsonl:12"."""
        root = str(self.corpus.resolve()) + "/"
        return where.replace(root, "")

    def progress_html(self, p: Progress) -> str:
        if p.state == "idle":
            return ('<div class="cq-progress" role="status">No indexing running. Added files are indexed in the '
                    "background; questions keep being answered meanwhile.</div>")
        head = {"queued": "Queued", "waiting": "Waiting for another index run", "reading": "Reading",
                "embedding": "Indexing", "publishing": "Publishing", "done": "Done", "failed": "Failed"}[p.state]
        bar = ""
        if p.state in ("embedding", "publishing") and p.chunks_expected:
            bar = f'<progress max="{p.chunks_expected}" value="{p.chunks_done}"></progress>'
        counts = (f" · {p.cables_done:,}/{p.cables_total:,} cables" if p.cables_total else "") \
            + (f" · {p.chunks_done:,} chunks embedded" if p.chunks_done else "")
        left = p.seconds_left()
        eta = f" · about {left:.0f} s left" if left is not None else ""
        took = f" in {p.finished - p.started:.0f} s" if p.finished else ""
        more = f" ({p.queued} more queued)" if p.queued else ""
        summary = f'<div class="cq-summary">{safe(p.summary)}</div>' if p.summary else ""
        return (f'<div class="cq-progress" role="status" aria-live="polite" data-state="{p.state}">'
                f'<b>{head}</b>{took}: {safe(self._where(p.what))}{more}{counts}{eta}{bar}{summary}'
                f"{self.problems_html(p.problems)}</div>")

    def problems_html(self, problems: Sequence[Problem]) -> str:
        if not problems:
            return ""
        items = "".join(f'<li class="cq-problem{"" if p.skipped else " cq-warning"}">'
                        f'<span class="cq-where">{safe(self._where(p.where))}</span>: '
                        f'{"skipped" if p.skipped else "warning"}: {safe(p.reason)}</li>'
                        for p in problems[:PROBLEMS_SHOWN])
        more = f"<li>… and {len(problems) - PROBLEMS_SHOWN} more</li>" if len(problems) > PROBLEMS_SHOWN else ""
        return f'<ul class="cq-problems" aria-label="Problems found">{items}{more}</ul>'

    def sources(self) -> dict[str, int]:
        def current(s):
            s.refresh()  # a generation published since: the chat uses it from now on
            return s.index.sources()

        return self.engine.with_searcher(current)

    def _label(self, path: str) -> str:
        try:
            return str(Path(path).relative_to(self.corpus.resolve()))
        except ValueError:
            return path

    def sources_html(self, sources: dict[str, int]) -> str:
        rows = []
        for path, n in sorted(sources.items(), key=lambda kv: self._label(kv[0])):
            try:
                updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(Path(path).stat().st_mtime))
            except OSError:
                updated = "file gone"
            rows.append(f'<tr><td>{safe(self._label(path))}</td><td class="cq-n">{n:,}</td>'
                        f"<td>{safe(updated)}</td></tr>")
        return (f'<div class="cq-sources"><table><thead><tr><th>Source file</th><th>Cables</th><th>Updated</th>'
                f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')

    # -- handlers ------------------------------------------------------------------------
    def _refused(self, request: gr.Request | None) -> bool:
        return self.require_login and not getattr(request, "username", None)

    def upload(self, files, request: gr.Request = None):
        """Keep the uploaded files in the corpus and queue them for indexing: (progress, cleared input)."""
        if self._refused(request):
            return '<div class="cq-progress" role="alert">Log in to add cables.</div>', None
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        up = accept_uploads([(p, Path(p).name) for p in paths], self.corpus)
        names = ", ".join(p.name for p in up.kept) or "nothing kept"
        self.ingest.submit(up.kept, f"upload: {names}", rejected=up.rejected, skip_seen=True)
        return self.progress_html(self.ingest.snapshot()), None

    def poll(self, seen):
        """Every tick: the progress and, after a new generation, the sources; skipped when unchanged."""
        p = self.ingest.snapshot()
        sources = self.sources()
        key = repr((p, sorted(sources.items())))
        if key == seen:
            return gr.skip(), gr.skip(), gr.skip(), seen
        picks = [(f"{self._label(s)} ({n:,})", s) for s, n in sorted(sources.items(), key=lambda kv: kv[0])]
        return self.progress_html(p), self.sources_html(sources), gr.update(choices=picks), key

    def ask_remove(self, source):
        """The confirmation row for removing ``source`` (or nothing when none is picked)."""
        n = self.sources().get(source or "")
        if not n:
            return gr.update(visible=False), ""
        return gr.update(visible=True), (f"Remove {safe(self._label(source))} and its {n:,} cables from the index? "
                                         "The file is moved aside, not deleted.")

    def remove(self, source, request: gr.Request = None):
        """Drop ``source``'s cables (a new generation); a file in the corpus moves to corpus/.removed."""
        hide = gr.update(visible=False)
        if self._refused(request):
            return hide, '<div class="cq-progress" role="alert">Log in to remove sources.</div>'
        if not source or source not in self.sources():  # only a source the index lists: no path from the client
            return hide, '<div class="cq-progress" role="alert">Pick a source the index holds.</div>'
        path = Path(source)
        try:
            inside = path.resolve().is_relative_to(self.corpus.resolve())
            if inside and path.exists():
                aside = self.corpus / REMOVED / f"{time.strftime('%Y%m%d-%H%M%S')}-{path.name}"
                aside.parent.mkdir(parents=True, exist_ok=True)
                path.rename(aside)
        except OSError as exc:
            return hide, f'<div class="cq-progress" role="alert">Cannot move {safe(path.name)} aside: ' \
                         f"{safe(exc.strerror or str(exc))}</div>"
        self.ingest.submit([], f"remove {self._label(source)}", forget=[source])
        return hide, self.progress_html(self.ingest.snapshot())


class Glancer:
    """Each answer's matching cables counted by month, post and tag (:mod:`cableqa.glance`)."""

    def __init__(self, engine):
        self.engine = engine

    def counts(self, turns, origin="", since="", until="", classification="", tags=""):
        """Counts for the conversation's last question, as the filter boxes stand; None when none."""
        turns = tuple(turns or ())
        try:
            flags = Filters.from_panel(origin, since, until, classification, tags)
        except ValueError:
            return None
        if not turns:
            return None
        question, history = turns[-1].question, [t.question for t in turns[:-1]]

        def run(s):
            hits = s.search(question, history=history, filters=flags, k=glance.PARAGRAPHS).hits
            return [(origin or "", created or "", tags) for _, origin, created, tags
                    in s.index.facets([h.cable_id for h in hits])]

        try:
            return glance.glance(self.engine.with_searcher(run))
        except Exception:  # the chart is extra: a failure here never touches the answer
            import traceback

            traceback.print_exc()
            return None

    def show(self, turns, origin, since, until, classification, tags):
        """(chart data, post choices, tag choices, note) for the question just asked."""
        import pandas as pd

        g = self.counts(turns, origin, since, until, classification, tags)
        if g is None or not g.cables:
            return (gr.BarPlot(pd.DataFrame({"period": [], "cables": []}), visible=False),
                    gr.update(choices=[], value=None),
                    gr.update(choices=[], value=None), GLANCE_HINT if not turns else
                    '<div class="cq-glance-note">No matching cables to count.</div>')
        frame = pd.DataFrame({"period": [p for p, _ in g.timeline], "cables": [n for _, n in g.timeline]})
        undated = f", {g.undated} undated" if g.undated else ""
        note = (f'<div class="cq-glance-note" data-cables="{g.cables}">The {g.cables} cables of the best '
                f"{glance.PARAGRAPHS} paragraphs, by {g.unit}{undated}. Click a bar, or drag across bars, to ask only "
                f"about those {g.unit}s; pick a post or a tag to filter the next question.</div>")
        return (gr.BarPlot(frame, x_title=g.unit, visible=True),
                gr.update(choices=[(f"{p} ({n})", p) for p, n in g.posts], value=None),
                gr.update(choices=[(f"{t} ({n})", t) for t, n in g.tags], value=None), note)


def _filter_note(text: str) -> str:
    return f'<div class="cq-glance-note" role="status">Next question: {html.escape(text)}</div>'


def pick_period(evt: gr.SelectData):
    """A range brushed across the bars: its first and last period."""
    return _dated(glance.period_bounds(evt.value))


def pick_bar(clicked: str):
    """One bar clicked: its period ("2005-11 1764590000000", the click's stamp after it)."""
    return _dated(glance.period_bounds(clicked.split()[0]) if clicked.strip() else None)


def _dated(bounds):
    if bounds is None:
        return gr.skip(), gr.skip(), gr.skip()
    return bounds[0], bounds[1], _filter_note(f"dated {bounds[0]} to {bounds[1]}")


def pick_post(post):
    return (post or "", _filter_note(f"origin ~ {post}")) if post else (gr.skip(), gr.skip())


def pick_tag(tag):
    return (tag or "", _filter_note(f"tagged {tag}")) if tag else (gr.skip(), gr.skip())


def _keep(chat, turns, conversation, store):
    """Save the conversation in the browser after each change; an emptied chat starts a new one. The
    chat also reports a change when the page mounts, before its conversation is restored: with no
    conversation yet that one is ignored (saving it would make an empty one current, losing the restore)."""
    if not conversations.messages_of(chat):
        if not conversation:
            return gr.skip(), gr.skip(), gr.skip()
        conversation = conversations.new_id()
    store = conversations.save(store, conversation, chat, turns)
    return store, conversation, _picker(store, conversation)


def _open(store, conversation):
    """The chat and turns of a stored conversation (the current one on page load)."""
    wanted = conversation or conversations.current(store)
    found = conversations.load(store, wanted) if wanted else None
    if found is None:
        return gr.skip(), gr.skip(), conversations.new_id(), _picker(store, None)
    messages, turns = found
    return messages, turns, wanted, _picker(store, wanted)


def _picker(store, conversation: str | None):
    """The conversation list, ``conversation`` selected where it is kept (an empty one is not)."""
    choices = conversations.choices(store)
    return gr.update(choices=choices, value=conversation if any(cid == conversation for _, cid in choices) else None)


def attach(engine, desk: Desk | None, *, chat, turns, filters: FilterBoxes, demo: gr.Blocks) -> None:
    """Add the sidebar, the glance row and their events to the Blocks being built (see the module doc)."""
    secret = conversations.secret_for(engine.searcher.path)
    store = gr.BrowserState(conversations.EMPTY, storage_key="cableqa-conversations", secret=secret)
    conversation = gr.State("")
    # closed at first: the chat and the cable keep the whole width of a laptop or a phone
    with gr.Sidebar(label="Conversations and corpus", open=False, width=340, elem_id="cq-sidebar"):
        gr.Markdown("#### Conversations")
        # a list rather than a drop-down: one click reopens, and no pop-up can close under the pointer
        earlier = gr.Radio([], value=None, label="Pick one to reopen it", elem_id="cq-conversations")
        if desk is not None:
            gr.Markdown("#### Add cables")
            upload = gr.File(label="Cable files: .txt pages, cables.csv, JSON Lines; plain, .gz or .xz",
                             file_count="multiple", file_types=UPLOAD_TYPES, type="filepath", elem_id="cq-upload",
                             height=110)
            progress = gr.HTML(desk.progress_html(Progress()), elem_id="cq-progress")
            gr.Markdown("#### Sources")
            sources = gr.HTML(elem_id="cq-sources")
            with gr.Row():
                doomed = gr.Dropdown([], value=None, label="Remove a source", elem_id="cq-remove-pick", scale=3)
                remove_btn = gr.Button("Remove…", elem_id="cq-remove", size="sm", scale=1, min_width=70)
            with gr.Group(visible=False, elem_id="cq-confirm") as confirm:
                question_html = gr.HTML()
                with gr.Row():
                    yes = gr.Button("Yes, remove", variant="stop", size="sm", elem_id="cq-remove-yes")
                    no = gr.Button("Cancel", size="sm", elem_id="cq-remove-no")
            seen = gr.State("")
            timer = gr.Timer(1.0)
            timer.tick(desk.poll, inputs=[seen], outputs=[progress, sources, doomed, seen], show_progress="hidden",
                       api_name=False, concurrency_limit=None)
            upload.upload(desk.upload, inputs=[upload], outputs=[progress, upload], api_name="upload",
                          concurrency_limit=None, show_progress="hidden")
            remove_btn.click(desk.ask_remove, inputs=[doomed], outputs=[confirm, question_html], api_name=False)
            yes.click(desk.remove, inputs=[doomed], outputs=[confirm, progress], api_name=False)
            no.click(lambda: gr.update(visible=False), outputs=[confirm], api_name=False)
    with gr.Accordion("Matching cables at a glance", open=True, elem_id="cq-glance"):
        note = gr.HTML(GLANCE_HINT, elem_id="cq-glance-note")
        with gr.Row(equal_height=False):
            # hidden until an answer has cables to count (an empty plot is an unlabelled placeholder)
            timeline = gr.BarPlot(None, x="period", y="cables", title="Matching cables over time", x_title="month",
                                  y_title="cables", height=260, visible=False, x_label_angle=-45, elem_id="cq-timeline", scale=3,
                                  sort="x", tooltip="axis")
            posts = gr.Radio([], label="By post (pick one to filter)", elem_id="cq-posts", scale=1)
            tags = gr.Radio([], label="By TAGS (pick one to filter)", elem_id="cq-tags-facet", scale=1)
        bar = gr.Textbox(elem_id="cq-bar-click", elem_classes=["cq-hidden"], container=False, show_label=False)
    glancer = Glancer(engine)
    # after each answer (a new turn), and for a conversation reopened; the question box is cleared by then
    turns.change(glancer.show, inputs=[turns, *filters.all()], outputs=[timeline, posts, tags, note],
                 api_name="glance", show_progress="hidden")
    timeline.select(pick_period, outputs=[filters.since, filters.until, note], api_name=False)
    bar.change(pick_bar, inputs=[bar], outputs=[filters.since, filters.until, note], api_name=False)
    posts.input(pick_post, inputs=[posts], outputs=[filters.origin, note], api_name=False)
    tags.input(pick_tag, inputs=[tags], outputs=[filters.tags, note], api_name=False)
    chat.change(_keep, inputs=[chat, turns, conversation, store], outputs=[store, conversation, earlier],
                api_name=False, show_progress="hidden")
    earlier.input(_open, inputs=[store, earlier], outputs=[chat, turns, conversation, earlier], api_name=False)
    demo.load(lambda s: _open(s, ""), inputs=[store], outputs=[chat, turns, conversation, earlier], api_name=False)
    demo.load(None, js=CHART_JS)
