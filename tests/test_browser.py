"""The chat UI end to end: the real model, a real index in tmp, Chromium (Playwright) and gradio_client.

Run with ``pytest -m browser``; skipped where /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from cableqa import indexer, ui
from cableqa.cables import Report
from cableqa.embed import embedder_factory
from cableqa.config import resolve
from cableqa.search import Searcher

from conftest import ROOT, SEED, cable_record, teletype, write_jsonl

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "Who did Kazakhstan's Security Council Secretary suspect of planning post-election violence?"
EVIL = ["The harbour master said <script>window.pwned=1</script> the port of Testville was closed.",
        "An image <img src=x onerror=\"window.pwned=2\"> and **bold** and [link](http://evil.example/x) "
        "about the harbour of Testville."]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
FISHING = "The fishing fleet of Testville stayed in the harbour during the storm, the harbour master said."


def extra_cables() -> list[dict]:
    return [cable_record("06TESTVILLE7", teletype("HARBOUR <b>NEWS</b>", EVIL), references=["05ALMATY4281"],
                         created="2006-02-03T10:00:00"),
            cable_record("06TESTVILLE9", teletype("FISHING", [FISHING]), created="2006-03-01T10:00:00",
                         classification="UNCLASSIFIED"),
            # the same paragraph sent again: shown once, citing both
            cable_record("06TESTVILLE8", teletype("FISHING (REPEAT)", [FISHING.upper()]), created="2006-03-02T10:00:00",
                         classification="UNCLASSIFIED")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A tmp folder that Gradio's file cache also uses, for this module's apps."""
    path = tmp_path_factory.mktemp("ui")
    old = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(path / "gradio")
    yield path
    if old is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = old


@pytest.fixture(scope="module")
def embedder(workdir):
    """The real embedding model, loaded once for the module."""
    emb = embedder_factory(resolve(index=str(workdir / "onnx-cache")))(None)
    emb.encode_query("warm up")
    return emb


def start_app(folder: Path, sources: list[Path], embedder):
    """Index ``sources`` into ``folder``/ix with the real model and serve the chat on a free port."""
    index = folder / "ix"
    indexer.run(sources, index, lambda manifest: embedder, report=Report())
    engine = ui.Engine(Searcher(index, embedder=embedder))
    demo = ui.build_app(ui.ChatUI(engine, folder / "exports"))
    port = free_port()
    ui.launch(demo, port=port, allowed=[folder], block=False, quiet=True)
    return demo, f"http://127.0.0.1:{port}/", index


@pytest.fixture(scope="module")
def app(workdir, embedder):
    folder = workdir / "app"
    folder.mkdir()
    demo, url, _ = start_app(folder, [SEED, write_jsonl(folder / "extra.jsonl", extra_cables())], embedder)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def browser(workdir):
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    profile_tmp = workdir / "chromium"
    profile_tmp.mkdir()
    old_tmp = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(profile_tmp)  # the Playwright driver puts the browser profile and downloads here
    try:
        pw = sync_api.sync_playwright().start()
    finally:
        if old_tmp is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_tmp
    chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                  env={**os.environ, "HOME": str(profile_tmp), "TMPDIR": str(profile_tmp)})
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(app)
    page.wait_for_selector("#cq-status .cq-status")
    yield page
    context.close()


def ask(page, question: str):
    """Type ``question``, press Enter, wait for its answer; the answer's element."""
    answers = page.locator("#cq-chat .cq-answer")
    before = answers.count()
    page.fill("#cq-question textarea", question)
    page.press("#cq-question textarea", "Enter")
    page.wait_for_function(f"document.querySelectorAll('#cq-chat .cq-answer').length > {before}")
    return answers.nth(before)


def test_chat_in_the_browser(page, tmp_path):
    assert "4 cables" in page.inner_text("#cq-status")

    # ask: an extractive answer above cited, highlighted paragraphs
    answer = ask(page, QUESTION)
    text = answer.inner_text()
    assert "05ALMATY4281 ¶3 (C)" in text and "US Office Almaty · 2005-12-02 · CONFIDENTIAL" in text
    quote = answer.locator(".cq-extract").inner_text()
    sentence = quote.split("”")[0].lstrip("“")
    assert any(sentence in t for t in answer.locator(".cq-text").all_inner_texts())  # verbatim, not generated
    assert answer.locator("mark").count() > 0

    # open the cable at the cited paragraph
    answer.locator('a[href="#cable/05ALMATY4281/3"]').first.click()
    target = page.locator('#cq-cable .cq-cable[data-cable="05ALMATY4281"] .cq-para.cq-target')
    target.wait_for()
    assert target.get_attribute("id") == "cq-p-3"
    assert page.locator("#cq-cable .cq-para").count() == 9
    assert page.input_value("#cq-target textarea") == "05ALMATY4281#3"
    page.wait_for_timeout(300)  # the scroll runs after the render
    box, para = page.locator("#cq-cable").bounding_box(), target.bounding_box()
    assert box["y"] <= para["y"] < box["y"] + box["height"]  # scrolled into view
    shot = tmp_path / "answer-and-cable.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # follow up (earlier turns go to search as history)
    follow = ask(page, "And what did the Interior Minister tell the Ambassador?")
    assert "05ALMATY4281 ¶4" in follow.inner_text()

    # "cited by" leads to the crafted cable: its HTML, script and Markdown show as text
    page.locator('#cq-cable a[href="#cable/06TESTVILLE7"]').click()
    page.locator('#cq-cable .cq-cable[data-cable="06TESTVILLE7"]').wait_for()
    viewer = page.inner_text("#cq-cable")
    assert EVIL[0] in viewer and EVIL[1] in viewer
    assert page.locator('#cq-cable a[href="#cable/05ALMATY4281"]').count() == 1  # its REF is in the corpus
    evil = ask(page, "What did the harbour master say about the image and the port of Testville?")
    assert "<script>window.pwned=1</script>" in evil.inner_text() or "<img src=x" in evil.inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator("#cq-chat .cq-answer img, #cq-cable img, #cq-chat .cq-answer strong").count() == 0
    assert page.locator('a[href^="http://evil"]').count() == 0

    # filters from the panel apply to the next questions, and are shown
    page.get_by_text("Filters (apply to the next questions)").click()
    page.fill("#cq-origin textarea", "Testville")
    page.fill("#cq-since textarea", "2006")
    filtered = ask(page, "What happened in the harbour during the storm?")
    assert "Filters applied: origin ~ Testville; dated 2006-01-01 to …" in filtered.inner_text()
    cited = {a.get_attribute("href").split("/")[1] for a in filtered.locator("a.cq-cite").all()}
    assert cited and cited <= {"06TESTVILLE7", "06TESTVILLE8", "06TESTVILLE9"}
    twin = filtered.locator(".cq-also a.cq-cite")  # the repeat is cited beside the paragraph shown
    assert twin.count() == 1 and "same words also in" in filtered.inner_text()
    repeat = twin.get_attribute("href").split("/")[1]
    assert filtered.locator(f'.cq-citeline > a.cq-cite[href^="#cable/{repeat}"]').count() == 0  # not shown twice
    twin.click()
    page.locator(f'#cq-cable .cq-cable[data-cable="{repeat}"] #cq-p-1.cq-target').wait_for()
    page.fill("#cq-origin textarea", "Atlantis")
    assert "No cables from an origin like 'Atlantis'" in ask(page, "harbour").inner_text()
    page.fill("#cq-origin textarea", "")
    page.fill("#cq-since textarea", "")
    # ...and filters typed in the question
    typed = ask(page, "cables from Almaty about violence")
    assert "Filters from your question: origin ~ Almaty" in typed.inner_text()
    assert "Ask a question in words" in ask(page, "?!").inner_text()

    # export the conversation's cited excerpts: two buttons that download
    saved = {}
    for button in ("#cq-export-md", "#cq-export-csv"):
        with page.expect_download() as download:
            page.click(button)
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        saved[path.suffix] = path
    markdown = saved[".md"].read_text(encoding="utf-8")
    assert "05ALMATY4281 ¶3 (C)" in markdown and "Kazakhstan's Security Council Secretary" in markdown
    rows = list(csv.DictReader(io.StringIO(saved[".csv"].read_text(encoding="utf-8-sig"))))
    assert {"05ALMATY4281 ¶3 (C)", "05ALMATY4281 ¶4 (C)"} <= {r["citation"] for r in rows}
    assert rows[0]["question"] == QUESTION and rows[0]["origin"] == "US Office Almaty"

    # nothing left the machine
    off = [u for u in page.requests if urlparse(u).scheme not in ("data", "blob")
           and urlparse(u).hostname not in LOCAL_HOSTS]
    assert page.requests and not off


@pytest.fixture
def client_tmp(tmp_path, monkeypatch):
    """gradio_client downloads through a folder in tempfile.gettempdir(): keep it in tmp_path."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_api_through_gradio_client(app, client_tmp):
    from gradio_client import Client

    tmp_path = client_tmp
    client = Client(app, verbose=False, download_files=str(tmp_path))
    messages, box, status, cable, understood = client.predict(QUESTION, [], "", "", "", "any", "", api_name="/ask")
    assert box == "" and "4 cables" in status
    assert understood == "05ALMATY4281#3" and 'class="cq-para cq-target" id="cq-p-3"' in cable  # opened beside
    answer = messages[-1]["content"][0]["text"] if isinstance(messages[-1]["content"], list) \
        else messages[-1]["content"]
    assert 'href="#cable/05ALMATY4281/3"' in answer
    cable, understood = client.predict("05ALMATY4281 ¶3", api_name="/open_cable")
    assert understood == "05ALMATY4281#3" and 'class="cq-para cq-target" id="cq-p-3"' in cable
    md, csv_path = client.predict(api_name="/export")  # the session's conversation so far
    assert "05ALMATY4281 ¶3 (C)" in Path(md).read_text(encoding="utf-8")
    assert Path(csv_path).suffix == ".csv"
    assert "4 cables" in client.predict(api_name="/status")


def test_index_update_shows_without_restart(workdir, embedder, client_tmp):
    from gradio_client import Client

    tmp_path = client_tmp
    folder = workdir / "refresh"
    folder.mkdir()
    demo, url, index = start_app(folder, [SEED], embedder)
    try:
        client = Client(url, verbose=False, download_files=str(tmp_path))
        assert "1 cables" in client.predict(api_name="/status")
        indexer.run([write_jsonl(folder / "new.jsonl", extra_cables())], index, lambda m: embedder, report=Report())
        messages, _, status, _, _ = client.predict("fishing fleet in the storm", [], "", "", "", "any", "",
                                                   api_name="/ask")
        assert "4 cables" in status and "06TESTVILLE9" in str(messages[-1]["content"])
    finally:
        demo.close()


def test_app_py_builds_the_index_on_first_run_and_serves(tmp_path):
    port = free_port()
    env = {**os.environ, "CABLEQA_INDEX": str(tmp_path / "ix"), "CABLEQA_PORT": str(port),
           "GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "TMPDIR": str(tmp_path), "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.5)
        else:
            pytest.fail("app.py did not serve within 180 s:\n" + log.read_text())
        assert (tmp_path / "ix" / "CURRENT").exists()
        assert "indexing" in log.read_text() and "1 cables" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
