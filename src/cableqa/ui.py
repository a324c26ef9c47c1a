"""The browser chat (``cableqa serve``): ask, read cited paragraphs beside their cable, filter, export.

A thin layer: every question goes to the same :meth:`Searcher.search` as the
CLI; :mod:`cableqa.render` makes the HTML and :mod:`cableqa.export` the files.

The page (laid out for a laptop and a phone): the chat on the left, the cable
its answer cites on the right (below it on a narrow screen).  An answer opens
its top citation's cable at once (:meth:`ChatUI.answer`), and the page script
then shows the answer from its start and the cable at its cited paragraph.

Opening a cited cable: citations are ``<a href="#cable/ID/ORDINAL">`` links
(:func:`render.cite_link`).  The page script (``static/page.js``, run on
load) catches a click on any of them, keeps "CABLEID#ordinal" and clicks the
"Open" button; that button's event takes the value through :data:`PICK_JS`
(else what was typed in the "Open cable" box), renders the cable, then
:data:`SHOW_CABLE_JS` scrolls to the cited paragraph.  The cable is looked up
by id in the index, never by a file path from the request.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

# Offline: no usage statistics, no model-hub look-ups (set before gradio imports huggingface_hub)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from . import export, render, ui_corpus  # noqa: E402
from .config import Settings, serving_threads  # noqa: E402
from .errors import ServeError  # noqa: E402
from .filters import CLASSIFICATIONS, Filters  # noqa: E402
from .ingest import MAX_UPLOAD_BYTES  # noqa: E402
from .search import Result, Searcher  # noqa: E402
from .text import CABLE_ID  # noqa: E402

HITS_SHOWN = 5
ANY = "any"
EXAMPLES = ["Who did Kazakhstan's Security Council Secretary suspect of planning post-election violence?",
            "What did the Interior Minister tell the Ambassador about a youth group in Taraz?",
            "secret cables from Cairo in 2008 about elections"]
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
_TARGET = re.compile(rf"^\s*({CABLE_ID})\s*(?:#\s*(\d+)|¶\s*(\w+))?")

# the page script's entry points (static/page.js defines window.cableqa)
PICK_JS = "(typed) => window.cableqa.pick(typed)"
SHOW_CABLE_JS = "() => window.cableqa.showCable()"
SHOW_ANSWER_JS = "() => window.cableqa.showAnswer()"


def static_text(name: str) -> str:
    """A file of the page (``static/page.css``, ``static/page.js``), shipped inside the package."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


class Engine:
    """The one :class:`Searcher` behind every browser session.

    A lock keeps one request at a time on the index: :meth:`Searcher.refresh`
    swaps (and closes) the index under a running search otherwise, and the
    model is loaded by one thread only.
    """

    def __init__(self, searcher: Searcher):
        self.searcher = searcher
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load the model and keyword weights now, so the first question does not wait for them."""
        with self._lock:
            self.searcher.warm()

    def ask(self, question: str, history: Sequence[str], filters: Filters) -> tuple[Result, render.Answer | None]:
        with self._lock:
            self.searcher.refresh()  # a `cableqa index` run since the last question: use its index now
            result = self.searcher.search(question, history=history, filters=filters, k=HITS_SHOWN)
            qvec = result.vector
            scored = None if qvec is None else (lambda hit: self.searcher.sentence_scores(hit, qvec))
            answer = render.pick_answer(result.question, result.hits, self.searcher.embedder.encode, scored=scored)
        return result, answer

    def cable(self, cable_id: str):
        with self._lock:
            return self.searcher.index.cable(cable_id)

    def info(self) -> dict:
        with self._lock:
            self.searcher.refresh()
            return self.searcher.info()

    def with_searcher(self, fn):
        """``fn(searcher)`` under the lock (the corpus panel's sources and charts)."""
        with self._lock:
            return fn(self.searcher)


def parse_target(text: str) -> tuple[str, int | None, str | None] | None:
    """"05ALMATY4281#3" (ordinal), "05almaty4281 ¶3" (printed number) or an id: (id, ordinal, para)."""
    m = _TARGET.match(text or "")
    if not m:
        return None
    return m.group(1).upper(), int(m.group(2)) if m.group(2) else None, m.group(3)


class ChatUI:
    """The event handlers; each returns what its outputs show and never raises at the user."""

    def __init__(self, engine: Engine, export_dir: Path):
        self.engine = engine
        self.export_dir = Path(export_dir)

    def status(self) -> str:
        return render.status_html(self.engine.info())

    def ask(self, question: str, messages: list | None, turns: tuple, origin: str = "", since: str = "",
            until: str = "", classification: str = ANY, tags: str = "") -> tuple[list, str, tuple, str]:
        """Answer ``question`` given the earlier turns: (chat messages, cleared textbox, turns, status)."""
        question = (question or "").strip()
        messages = list(messages or []) + [{"role": "user", "content": render.user_html(question or "…")}]
        turns = tuple(turns or ())
        try:
            flags = Filters.from_panel(origin, since, until, classification, tags)
        except ValueError as exc:
            messages.append({"role": "assistant", "content": render.message_html(f"Check the filters: {exc}.")})
            return messages, question, turns, self.status()
        history = [t.question for t in turns]
        try:
            result, answer = self.engine.ask(question, history, flags)
        except Exception as exc:  # a message in the chat, not a traceback; the log keeps the details
            traceback.print_exc()
            messages.append({"role": "assistant", "content": render.message_html(
                f"Sorry, this question failed ({type(exc).__name__}: {exc}). Try again or rephrase it.")})
            return messages, question, turns, self.status()
        messages.append({"role": "assistant", "content": render.answer_html(result, answer)})
        if re.search(r"\w", question):  # "?!" gets a hint, but is no turn to follow up on or export
            turns += (export.Turn(question, result.filters.describe(), answer, tuple(result.hits)),)
        return messages, "", turns, self.status()

    def open_cable(self, target: str) -> tuple[str, str]:
        """The cable viewer for "ID#ordinal" / "ID ¶para" / "ID", and the target as understood."""
        parsed = parse_target(target)
        if parsed is None:
            return render.message_html("Give a cable id such as 05ALMATY4281, optionally with #paragraph."), target
        cable_id, ordinal, para = parsed
        view = self.engine.cable(cable_id)
        if view is None:
            return render.cable_missing_html(cable_id), target
        if para is not None:
            ordinal = next((p["ordinal"] for p in view.paragraphs if p["para"] == para), None)
        shown = f"{cable_id}#{ordinal}" if ordinal is not None else cable_id
        return render.cable_html(view, ordinal), shown

    def answer(self, question: str, messages: list | None, turns: tuple, *filters: str) -> tuple:
        """:meth:`ask`, plus the cable of the new answer's top citation (the quoted sentence's, else the
        first excerpt's) at that paragraph, to show beside it; the cable stays as it was when nothing new
        was cited."""
        messages, box, new_turns, status = self.ask(question, messages, turns, *filters)
        top = None
        if len(new_turns) > len(turns or ()):
            latest = new_turns[-1]
            top = latest.answer.hit if latest.answer else next(iter(latest.hits), None)
        cable, shown = self.open_cable(f"{top.cable_id}#{top.ordinal}") if top else (gr.skip(), gr.skip())
        return messages, box, new_turns, status, cable, shown

    def export(self, turns: tuple) -> tuple[str | None, str | None]:
        """The conversation's cited excerpts as a Markdown and a CSV file, for the two download buttons."""
        if not turns:
            return None, None
        self.export_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=self.export_dir))  # two exports in one second never collide
        md, csv_path = export.write(turns, folder, stem="cableqa-excerpts-" + time.strftime("%Y%m%d-%H%M%S"))
        return str(md), str(csv_path)

    @staticmethod
    def downloadable(turns: tuple) -> tuple[dict, dict]:
        """The download buttons enabled while there is something to export."""
        return gr.update(interactive=bool(turns)), gr.update(interactive=bool(turns))

    def reset(self):
        return [], (), render.EMPTY_CABLE, ""


def example_text(chosen: gr.SelectData) -> str:
    """The question of the example clicked in the empty chat."""
    return chosen.value["text"]


def build_app(handlers: ChatUI, desk: ui_corpus.Desk | None = None) -> gr.Blocks:
    """The Blocks app; launch it with :func:`launch` (theme, CSS and script are launch options in Gradio 6).

    With a ``desk`` (:class:`ui_corpus.Desk`) the page can add and remove cables too."""
    classes = [ANY] + list(dict.fromkeys(CLASSIFICATIONS.values()))
    with gr.Blocks(title="cableqa", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        turns = gr.State(())
        with gr.Row(elem_id="cq-header"):
            gr.HTML('<h1>cableqa <span class="cq-tagline">— ask the cables; every answer quotes and cites '
                    "them</span></h1>", padding=False, container=False)
            status = gr.HTML(elem_id="cq-status", padding=False, container=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                # height: the chat, question box and tools fill a laptop's window; autoscroll off, since
                # the page script shows a new answer from its start rather than its end
                chat = gr.Chatbot(label="Conversation", show_label=False, elem_id="cq-chat",
                                  height="calc(100vh - 275px)", min_height=320, autoscroll=False, layout="panel",
                                  latex_delimiters=[], sanitize_html=True, allow_tags=False, feedback_options=None,
                                  buttons=["copy", "copy_all"],
                                  examples=[{"text": q} for q in EXAMPLES],
                                  placeholder="Ask about the cables. Answers quote the paragraphs they come from; "
                                              "the cable of the best one opens beside them.")
                with gr.Row():
                    question = gr.Textbox(label="Question", elem_id="cq-question", show_label=False, scale=6,
                                          lines=1, max_lines=4, autofocus=True,
                                          placeholder="Ask a question about the cables")
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="cq-ask", scale=1, min_width=80)
                with gr.Row(elem_id="cq-tools"):
                    new_btn = gr.Button("New conversation", elem_id="cq-new", size="sm")
                    md_btn = gr.DownloadButton("Download excerpts (Markdown)", elem_id="cq-export-md", size="sm",
                                               interactive=False)
                    csv_btn = gr.DownloadButton("Download excerpts (CSV)", elem_id="cq-export-csv", size="sm",
                                                interactive=False)
                with gr.Accordion("Filters (apply to the next questions)", open=False, elem_id="cq-filters"):
                    with gr.Row():
                        origin = gr.Textbox(label="Origin", placeholder="e.g. Almaty", elem_id="cq-origin")
                        since = gr.Textbox(label="Since", placeholder="YYYY[-MM[-DD]]", elem_id="cq-since")
                        until = gr.Textbox(label="Until", placeholder="YYYY[-MM[-DD]]", elem_id="cq-until")
                    with gr.Row():
                        classification = gr.Dropdown(classes, value=ANY, label="Classification",
                                                     elem_id="cq-classification")
                        tags = gr.Textbox(label="Tags", placeholder="e.g. PGOV, KZ", elem_id="cq-tags")
            with gr.Column(scale=2, min_width=340):
                with gr.Row():
                    target = gr.Textbox(label="Open cable", show_label=False, scale=4, elem_id="cq-target",
                                        placeholder="Cable id, e.g. 05ALMATY4281#3")
                    open_btn = gr.Button("Open", elem_id="cq-open", scale=1, min_width=60, size="md")
                cable = gr.HTML(render.EMPTY_CABLE, elem_id="cq-cable", js_on_load=None)

        answering = dict(fn=handlers.answer,
                         inputs=[question, chat, turns, origin, since, until, classification, tags],
                         outputs=[chat, question, turns, status, cable, target], show_progress_on=[chat])
        buttons = [md_btn, csv_btn]

        def refresh_exports(event, api_name=False):
            """After ``event``: the download buttons offer the conversation as it now is."""
            event.then(handlers.export, inputs=[turns], outputs=buttons, api_name=api_name).then(
                handlers.downloadable, inputs=[turns], outputs=buttons, api_name=False, queue=False)

        asked = gr.on([question.submit, ask_btn.click], **answering, api_name="ask")
        # an example in the empty chat is asked as if typed
        picked = chat.example_select(example_text, outputs=[question], api_name=False).then(**answering,
                                                                                              api_name=False)
        for event in (asked, picked):
            event.then(None, js=SHOW_ANSWER_JS)
            refresh_exports(event, api_name="export" if event is asked else False)
        gr.on([open_btn.click, target.submit], handlers.open_cable, inputs=[target], outputs=[cable, target],
              js=PICK_JS, api_name="open_cable").then(None, js=SHOW_CABLE_JS)
        for clear in (new_btn.click, chat.clear):
            refresh_exports(clear(handlers.reset, outputs=[chat, turns, cable, target], api_name=False))
        demo.load(handlers.status, outputs=[status], api_name="status")
        # issue 18: conversations kept in the browser, upload and sources, each answer's cables at a glance
        ui_corpus.attach(handlers.engine, desk, chat=chat, turns=turns, demo=demo,
                         filters=ui_corpus.FilterBoxes(origin, since, until, classification, tags))
    # the Engine takes one index request at a time anyway; a second slot lets an export run beside it
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           allowed: Sequence[Path] = (), block: bool = True, quiet: bool = False):
    """Start the server: system fonts only (nothing fetched off the machine), no SSR, no MCP."""
    # a dark blue for the primary button: white on Gradio's orange is 2.8:1, below WCAG AA's 4.5:1
    theme = gr.themes.Default(primary_hue="blue", font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
        button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700", button_primary_background_fill_hover_dark="*primary_800")
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, quiet=quiet,
                       theme=theme, css=static_text("page.css") + ui_corpus.CSS, js=static_text("page.js"),
                       max_file_size=MAX_UPLOAD_BYTES, ssr_mode=False,
                       mcp_server=False, pwa=False, share=False, allowed_paths=[str(p) for p in allowed],
                       footer_links=["api", "settings"])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_index(settings: Settings) -> Searcher:
    """The Searcher for ``settings.index``; builds the index from ``settings.corpus`` first if there is none."""
    from . import store
    from .cables import Report
    from .embed import embedder_factory
    from .errors import EmbedError
    from .indexer import run
    from .progress import bar

    made = []
    try:
        if store.IndexDir(settings.index).current() is None:
            if not settings.corpus.exists():
                raise ServeError(f"no index at {settings.index} and no corpus folder {settings.corpus} to build one "
                                 "from; give --corpus, or build one with `cableqa index SOURCES --index ...`")
            print(f"cableqa: no index at {settings.index} yet; indexing {settings.corpus} (first run)...",
                  file=sys.stderr, flush=True)
            make = embedder_factory(settings)

            def make_and_keep(manifest):
                made.append(make(manifest))
                return made[-1]

            with bar(False, "cable", "embedding") as progress:
                stats = run([settings.corpus], settings.index, make_and_keep, report=Report(echo=True),
                            progress=progress)
            print(stats.summary(), file=sys.stderr, flush=True)
        searcher = Searcher(settings.index, model=settings.model, backend=settings.backend, device=settings.device,
                            query_backend=settings.query_backend, threads=serving_threads())
        if made and made[0].backend == searcher.question_backend:
            searcher.embedder = made[0]  # the model the build loaded embeds the questions too: not loaded twice
        return searcher
    except (store.IndexError_, EmbedError, OSError) as exc:
        raise ServeError(str(exc)) from exc


def leave_a_core_free() -> None:
    """Run torch and FAISS on :func:`cableqa.config.serving_threads` (unless OMP_NUM_THREADS says it).

    A question embeds one short text and searches once: extra threads gain little."""
    if "OMP_NUM_THREADS" not in os.environ:
        import faiss
        import torch

        threads = serving_threads()
        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)


def serve(settings: Settings, watch: bool = False):
    """Build the index if needed, then serve the chat on ``settings.host:port`` (see ``cableqa serve``);
    ``watch``: index what changes in ``settings.corpus`` as it changes."""
    if not is_loopback(settings.host):
        if settings.auth is None:
            raise ServeError(f"refusing to serve on {settings.host} without a password: anyone who can reach it "
                             "could read the cables. Add --auth user:password (or set CABLEQA_AUTH=user:password), "
                             "or serve on 127.0.0.1")
        print(f"cableqa: WARNING: serving on {settings.host}, reachable from other machines (password required)",
              file=sys.stderr, flush=True)
    engine = Engine(open_index(settings))
    info = engine.info()
    print(f"cableqa: {info['cables']} cables, {info['chunks']} chunks from {settings.index}; "
          f"open http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)

    def warm_up() -> None:  # beside the server's start, so the page is up sooner
        leave_a_core_free()
        engine.warm()

    threading.Thread(target=warm_up, name="cableqa-warm-up", daemon=True).start()
    export_dir = Path(tempfile.mkdtemp(prefix="cableqa-export-"))
    atexit.register(shutil.rmtree, export_dir, True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a service stop runs the clean-up too
    from .embed import embedder_factory

    desk = ui_corpus.Desk(engine, settings.corpus, settings.index, embedder_factory(settings),
                          require_login=not is_loopback(settings.host), watch=watch)
    demo = build_app(ChatUI(engine, export_dir), desk)
    try:
        return launch(demo, settings.host, settings.port, settings.auth, allowed=[export_dir])
    except OSError as exc:  # the port is taken, the address is not this machine's
        raise ServeError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from exc
