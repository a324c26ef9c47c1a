"""The chat UI without a browser: rendering, escaping, export, the handlers (fake embedder)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from cableqa import export, indexer, render, ui
from cableqa.cables import Report
from cableqa.config import resolve
from cableqa.retrieval import Tuning
from cableqa.search import Searcher
from cableqa.text import prose_sentences

from conftest import SEED, FakeEmbedder, cable_record, teletype, write_jsonl

QUESTION = "Who did Kazakhstan's Security Council Secretary suspect of planning post-election violence?"
EVIL = ["The minister said <script>window.pwned=1</script> about the Testville harbour.",
        "An image <img src=x onerror=\"window.pwned=2\"> and **bold** and [link](http://evil.example/x) "
        "and $$x^2$$ and `code` about the Testville harbour."]


def evil_cable(**extra):
    return cable_record("06TESTVILLE7", teletype("HARBOUR <b>NEWS</b>", EVIL), references=["05ALMATY4281"],
                        **extra)


@pytest.fixture
def index_path(tmp_path, make_fake):
    src = write_jsonl(tmp_path / "extra.jsonl", [evil_cable()])
    path = tmp_path / "ix"
    indexer.run([SEED, src], path, make_fake, report=Report())
    return path


@pytest.fixture
def chat(index_path, tmp_path):
    return ui.ChatUI(ui.Engine(Searcher(index_path, embedder=FakeEmbedder())), tmp_path / "exports")


def visible_text(markup: str) -> str:
    """Roughly what a browser shows: tags dropped, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# -- escaping ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", EVIL + ["a & b < c > d \"e\" 'f'", "# heading", "1. list\n2. item"])
def test_safe_output_has_no_markup_and_shows_the_text(text):
    out = render.safe(text)
    assert "<" not in out.replace("<br>", "") and ">" not in out.replace("<br>", "")
    for md in "*[]()`$_":
        assert md not in out
    assert visible_text(out.replace("<br>", "\n")) == text


def test_highlight_marks_terms_not_entities():
    out = render.highlight("Kazakhstan's amp & <b>secretaries</b> Secretary", ["kazakhstan", "amp", "secretary"])
    assert out.count("<mark>") == 3  # Kazakhstan, amp, Secretary: never the "amp" of "&amp;"
    assert "&amp;" in out and "<b>" not in out
    assert visible_text(out) == "Kazakhstan's amp & <b>secretaries</b> Secretary"


def test_sentences_are_verbatim_pieces():
    text = ('Security Council Secretary Utemuratov said that "operative measures" had produced transcripts.  '
            'He met U.S. Amb. Ordway.  (Note: they denied it. End note.)')
    got = prose_sentences(text)
    assert got == ['Security Council Secretary Utemuratov said that "operative measures" had produced transcripts.',
                   "He met U.S. Amb. Ordway.", "(Note: they denied it.", "End note.)"]
    assert all(s in text for s in got)


# -- answers ----------------------------------------------------------------------------

def test_pick_answer_is_a_verbatim_sentence_of_a_top_hit(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    result = s.search(QUESTION, k=5)
    answer = render.pick_answer(QUESTION, result.hits, s.embedder.encode)
    assert answer is not None and answer.hit in result.hits[:render.ANSWER_FROM]
    assert answer.sentence in answer.hit.text
    assert render.pick_answer(QUESTION, [], s.embedder.encode) is None


def test_stored_sentence_vectors_shortlist_what_the_model_rereads(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    result = s.search(QUESTION, k=5)
    assert result.vector is not None
    hit = result.hits[0]
    scores = s.sentence_scores(hit, result.vector)
    assert scores and all(0 <= a < b <= len(hit.text) for a, b, _ in scores)  # spans of the shown text
    read: list[list[str]] = []

    def encode(texts):
        read.append(texts)
        return s.embedder.encode(texts)

    assert render.pick_answer(QUESTION, result.hits, encode) is not None
    # a stored cosine of 1 for one sentence of the third hit, 0 for the rest: it must be re-read
    third = result.hits[2]
    chosen = [p for p in prose_sentences(third.text) if len(p.split()) >= render.MIN_WORDS][-1]
    at = third.text.find(chosen)

    def scored(h):
        return [(at, at + len(chosen), 1.0)] if h is third else [(0, len(h.text), 0.0)]

    answer = render.pick_answer(QUESTION, result.hits, encode, scored=scored)
    assert len(read[0]) - 1 > render.SHORTLIST and len(read[1]) - 1 == render.SHORTLIST
    assert any(t.endswith(chosen) for t in read[1][1:])
    assert answer is not None and answer.sentence in answer.hit.text


def test_a_keyword_only_search_embeds_nothing_for_the_answer(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder(), tuning=Tuning(mode="keyword"))
    result = s.search(QUESTION, k=5)
    assert result.hits and result.vector is None  # no vector made for the ranking, none made for the answer


def test_answer_html_cites_and_highlights(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    result = s.search(QUESTION + " cables from Almaty", k=5)
    answer = render.pick_answer(result.question, result.hits, s.embedder.encode)
    out = render.answer_html(result, answer)
    assert out.startswith('<div class="cq-answer">') and "\n" not in out  # one raw HTML block for Markdown
    assert 'href="#cable/05ALMATY4281/3"' in out
    assert "05ALMATY4281 ¶3 (C)" in visible_text(out)
    assert "US Office Almaty · 2005-12-02 · CONFIDENTIAL · KAZAKHSTAN" in visible_text(out)
    assert "<mark>Security</mark>" in out and 'class="cq-extract"' in out
    assert "Filters applied: origin ~ Almaty" in visible_text(out)


def test_answer_html_says_what_the_question_set(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    shown = visible_text(render.answer_html(s.search("What did Almaty report in December 2005?", k=5), None))
    assert "Understood: period 2005-12" in shown
    assert "Understood" not in visible_text(render.answer_html(s.search("What did the embassy report?", k=5), None))


def test_answer_html_renders_evil_cable_as_text(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    result = s.search("Testville harbour image bold link", k=5)
    out = render.answer_html(result, None)
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    shown = visible_text(out)
    assert "<script>window.pwned=1</script>" in shown and "**bold** and [link](http://evil.example/x)" in shown


def test_cable_html_shows_the_whole_cable_with_links_both_ways(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    seed = render.cable_html(s.index.cable("05ALMATY4281"), target=3)
    assert seed.count('class="cq-para') == 9
    assert re.search(r'class="cq-para cq-target" id="cq-p-3"', seed)
    assert 'href="#cable/06TESTVILLE7"' in seed  # cited by
    assert "05ALMATY4144" in visible_text(seed) and 'href="#cable/05ALMATY4144"' not in seed  # REF not in index
    evil = render.cable_html(s.index.cable("06TESTVILLE7"))
    assert 'href="#cable/05ALMATY4281"' in evil  # its REF is in the index
    assert "<script" not in evil and "<img" not in evil
    assert EVIL[1] in visible_text(evil)


def test_status_html():
    out = render.status_html({"cables": 3000, "chunks": 26529, "model": "m", "backend": "bf16",
                              "updated": "2026-01-02T03:04:05"})
    assert visible_text(out) == "Index: 3,000 cables · 26,529 chunks · model m (bf16) · updated 2026-01-02 03:04:05"


# -- export -----------------------------------------------------------------------------

def _turns(index_path):
    s = Searcher(index_path, embedder=FakeEmbedder())
    turns = []
    for q in (QUESTION, "Testville harbour image"):
        r = s.search(q, k=3)
        turns.append(export.Turn(q, r.filters.describe(), render.pick_answer(q, r.hits, s.embedder.encode),
                                 tuple(r.hits)))
    return turns


def test_export_markdown_and_csv(index_path, tmp_path):
    turns = _turns(index_path)
    md, csv_path = export.write(turns, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert "05ALMATY4281 ¶" in text and "US Office Almaty" in text
    assert "<script>" not in text and "**bold**" not in text and "](http://" not in text
    assert r"\*\*bold\*\* and \[link\]" in text
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 6 and set(export.COLUMNS) == set(rows[0])
    assert rows[0]["citation"].startswith("05ALMATY4281 ¶") and rows[0]["question"] == QUESTION
    assert any(r["text"] == EVIL[1] for r in rows)  # CSV keeps the cable's words exactly
    assert sum(bool(r["answer_sentence"]) for r in rows) == 2


def test_csv_cells_are_not_formulas():
    assert export._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert export._cell("-2+3") == "'-2+3"
    assert export._cell("-- The Ambassador said") == "-- The Ambassador said"
    assert export._cell("plain") == "plain"


# -- handlers ---------------------------------------------------------------------------

def test_ask_answers_and_follow_up_passes_history(chat, monkeypatch):
    seen = []
    search = chat.engine.searcher.search
    monkeypatch.setattr(chat.engine.searcher, "search",
                        lambda q, history=(), **kw: seen.append(list(history)) or search(q, history=history, **kw))
    messages, box, turns, status = chat.ask(QUESTION, [], ())
    assert box == "" and len(messages) == 2 and len(turns) == 1
    assert messages[0]["role"] == "user" and messages[1]["role"] == "assistant"
    assert "05ALMATY4281 ¶3" in visible_text(messages[1]["content"])
    assert "2 cables" in status
    messages, _, turns, _ = chat.ask("And what did the Interior Minister say?", messages, turns)
    assert len(messages) == 4 and len(turns) == 2
    assert seen == [[], [QUESTION]]


@pytest.mark.parametrize("question, expected", [
    ("", "Ask a question in words"),
    ("?!", "Ask a question in words"),
    ("cables from Atlantis about harbours", "No cables from an origin like 'Atlantis'"),
])
def test_ask_explains_when_there_is_nothing_to_answer(chat, question, expected):
    messages, _, turns, _ = chat.ask(question, [], ())
    assert expected in visible_text(messages[-1]["content"])
    assert len(turns) == (1 if question.strip("?! ") else 0)


def test_ask_with_filters(chat):
    messages, _, turns, _ = chat.ask("harbour", [], (), origin="Testville", since="2004", until="2004-12",
                                     classification="CONFIDENTIAL", tags="PREL, xx")
    shown = visible_text(messages[-1]["content"])
    assert "Filters applied: origin ~ Testville; dated 2004-01-01 to 2004-12-31; classification CONFIDENTIAL; " \
           "tagged PREL, XX" in shown
    assert turns[0].hits and {h.cable_id for h in turns[0].hits} == {"06TESTVILLE7"}
    messages, _, _, _ = chat.ask("harbour", [], (), origin="Testville", since="2005")
    assert "No paragraph matched" in visible_text(messages[-1]["content"]) or "No cables match" in visible_text(
        messages[-1]["content"])
    messages, box, turns, _ = chat.ask("harbour", [], (), since="2005-13")
    assert "Check the filters" in visible_text(messages[-1]["content"]) and box == "harbour" and turns == ()


@pytest.mark.parametrize("target, shown", [("05ALMATY4281#3", "05ALMATY4281#3"), ("05almaty4281 ¶3", "05ALMATY4281#3"),
                                           ("05ALMATY4281", "05ALMATY4281")])
def test_open_cable(chat, target, shown):
    out, understood = chat.open_cable(target)
    assert understood == shown and 'data-cable="05ALMATY4281"' in out
    assert ('cq-target" id="cq-p-3"' in out) == shown.endswith("#3")


@pytest.mark.parametrize("target", ["99NOWHERE1", "../../etc/passwd", "", "<script>"])
def test_open_cable_never_opens_anything_but_indexed_cables(chat, target):
    out, _ = chat.open_cable(target)
    assert "cq-para" not in out and "<script" not in out


def test_export_handler(chat):
    assert chat.export(()) == (None, None)  # nothing yet, and both download buttons disabled
    assert [u["interactive"] for u in chat.downloadable(())] == [False, False]
    _, _, turns, _ = chat.ask(QUESTION, [], ())
    paths = chat.export(turns)
    assert [u["interactive"] for u in chat.downloadable(turns)] == [True, True]
    assert [p.rsplit(".", 1)[1] for p in paths] == ["md", "csv"]
    assert all(p.startswith(str(chat.export_dir)) for p in paths)


def test_answer_opens_the_top_citation_beside_it(chat):
    messages, box, turns, _, cable, shown = chat.answer(QUESTION, [], ())
    top = turns[-1].answer.hit
    assert shown == f"{top.cable_id}#{top.ordinal}" and f'cq-target" id="cq-p-{top.ordinal}"' in cable
    first_link = re.search(r'href="#cable/([^"]+)"', messages[-1]["content"]).group(1)
    assert first_link == f"{top.cable_id}/{top.ordinal}"  # the cable of the answer's first citation
    for nothing_new in ("?!", "", "cables from Atlantis about harbours"):  # nothing cited: the cable shown stays
        *_, cable, shown = chat.answer(nothing_new, messages, turns)
        assert cable == shown == {"__type__": "update"}


def test_next_question_uses_a_newer_index_without_restart(tmp_path, make_fake):
    path = tmp_path / "ix"
    indexer.run([SEED], path, make_fake, report=Report())
    chat = ui.ChatUI(ui.Engine(Searcher(path, embedder=FakeEmbedder())), tmp_path / "exports")
    assert "1 cables" in chat.status()
    indexer.run([write_jsonl(tmp_path / "new.jsonl", [evil_cable()])], path, make_fake, report=Report())
    messages, _, turns, status = chat.ask("Testville harbour", [], ())
    assert "2 cables" in status and turns[0].hits[0].cable_id == "06TESTVILLE7"


# -- serving ----------------------------------------------------------------------------

def test_parse_target():
    assert ui.parse_target("05ALMATY4281#3") == ("05ALMATY4281", 3, None)
    assert ui.parse_target(" 05almaty4281 ¶3a") == ("05ALMATY4281", None, "3a")
    assert ui.parse_target("/etc/passwd") is None


def test_loopback():
    assert ui.is_loopback("127.0.0.1") and ui.is_loopback("localhost") and ui.is_loopback("::1")
    assert not ui.is_loopback("0.0.0.0") and not ui.is_loopback("example.org")


def test_serve_refuses_open_host_without_auth(tmp_path):
    with pytest.raises(ui.ServeError, match="--auth user:password"):
        ui.serve(resolve(host="0.0.0.0", index=str(tmp_path / "ix"), corpus=str(tmp_path)))


def test_open_index_builds_from_corpus_on_first_run(tmp_path, monkeypatch, make_fake):
    import cableqa.embed

    monkeypatch.setattr(cableqa.embed, "embedder_factory", lambda settings: make_fake)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    # (on a CPU a torch index's questions are ONNX Runtime's, so only a chosen torch reuses the build's)
    searcher = ui.open_index(resolve(index=str(tmp_path / "ix"), corpus=str(corpus), query_backend="torch"))
    assert searcher.info()["cables"] == 1
    assert searcher.embedder is make_fake.made[0]  # the model the build loaded is reused


def test_open_index_without_index_or_corpus(tmp_path):
    with pytest.raises(ui.ServeError, match="no corpus folder"):
        ui.open_index(resolve(index=str(tmp_path / "ix"), corpus=str(tmp_path / "nothing")))


def test_app_builds(chat):
    demo = ui.build_app(chat)
    names = {d.get("api_name") for d in demo.config["dependencies"]}
    assert {"ask", "open_cable", "export", "status"} <= names


def test_ask_reports_a_failure_in_the_chat(chat, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(chat.engine, "ask", broken)
    messages, box, turns, _ = chat.ask(QUESTION, [], ())
    assert "Sorry, this question failed (RuntimeError: disk on fire)" in visible_text(messages[-1]["content"])
    assert box == QUESTION and turns == ()
    assert "Traceback" in capsys.readouterr().err  # the details go to the server's log
