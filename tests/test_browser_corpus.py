"""Issue 18 in Chromium: upload with progress and a bad file beside good ones, the watched folder, the
timeline and facets setting filters, a conversation surviving a reload, removing a source.

Real model, real index in tmp, real cables from the shared subset (skipped without it).
"""

from __future__ import annotations

import json
import lzma
import shutil
import time

import pytest

from cableqa import indexer, ui, ui_corpus
from cableqa.cables import Report
from cableqa.search import Searcher

from conftest import SEED, SUBSET, need_shared
from test_browser import ask, browser, embedder, free_port, workdir  # noqa: F401 - fixtures shared with the chat tests

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def real_cables(first: int, n: int) -> list[dict]:
    need_shared()
    out = []
    with lzma.open(SUBSET, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= first + n:
                break
            if i >= first:
                out.append(json.loads(line))
    return out


@pytest.fixture(scope="module")
def site(workdir, embedder):  # noqa: F811
    """`cableqa serve --corpus DIR --watch` in-process: the seed cable indexed, the folder watched."""
    need_shared()
    folder = workdir / "corpus-app"
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(SEED, corpus / SEED.name)
    index = folder / "ix"
    indexer.run([corpus], index, lambda manifest: embedder, report=Report())
    engine = ui.Engine(Searcher(index, embedder=embedder))
    desk = ui_corpus.Desk(engine, corpus, index, lambda manifest: embedder, watch=True)
    demo = ui.build_app(ui.ChatUI(engine, folder / "exports"), desk)
    port = free_port()
    ui.launch(demo, port=port, allowed=[folder], block=False, quiet=True)
    yield {"url": f"http://127.0.0.1:{port}/", "corpus": corpus, "folder": folder}
    demo.close()
    desk.close()


@pytest.fixture
def page(browser, site):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(site["url"])
    page.wait_for_selector("#cq-status .cq-status")
    page.get_by_role("button", name="Toggle Sidebar").click()  # conversations, upload, sources
    page.locator("#cq-sidebar.open").wait_for()
    yield page
    context.close()


def wait_job(page, what: str, timeout: float = 240_000):
    page.wait_for_function(
        "([what]) => { const p = document.querySelector('#cq-progress .cq-progress');"
        " return p && ['done', 'failed'].includes(p.dataset.state) && p.innerText.includes(what); }",
        arg=[what], timeout=timeout)
    return page.inner_text("#cq-progress")


def test_upload_ask_chart_filters_and_reload(page, site, tmp_path):
    cables = real_cables(100, 13)
    good = tmp_path / "new-cables.jsonl"
    good.write_text("".join(json.dumps(c) + "\n" for c in cables) + "{this line is broken\n", encoding="utf-8")
    bad = tmp_path / "broken.csv"
    bad.write_text('"1","12/2/2005 9:08","05X1","Embassy X"\n', encoding="utf-8")
    assert page.locator("#cq-upload input[type=file]").count() == 1

    started = time.time()
    page.locator("#cq-upload input[type=file]").set_input_files([str(good), str(bad)])
    shown = wait_job(page, "upload")
    took = time.time() - started
    assert "Done" in shown and "13/13 cables" in shown and "published" in shown, shown
    assert "uploads/new-cables.jsonl:14: skipped: not valid JSON" in shown
    assert "uploads/broken.csv:1: skipped: expected 8 columns" in shown
    sources = page.inner_text("#cq-sources")
    assert "uploads/new-cables.jsonl" in sources and "13" in sources
    assert (site["corpus"] / "uploads" / "new-cables.jsonl").exists()

    target = next(c for c in cables if c["id"] == "95KUALALUMPUR1919")
    answer = ask(page, target["subject"])
    assert target["id"] in answer.inner_text(), f"upload to answer: {time.time() - started:.0f} s (indexing {took:.0f} s)"

    # the timeline and the facets of the matching cables
    page.wait_for_function("document.querySelector('#cq-glance-note [data-cables]')", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('#cq-timeline svg path, #cq-timeline svg rect').length > 3",
                           timeout=20_000)  # vega draws the bars after the data arrives
    posts = page.locator("#cq-posts label")
    assert posts.count() >= 1 and page.locator("#cq-tags-facet label").count() >= 1
    post = posts.first.inner_text().rsplit(" (", 1)[0]
    posts.first.click()
    page.wait_for_function("document.querySelector('#cq-glance-note').innerText.includes('origin ~')")
    page.locator("#cq-tags-facet label").first.click()
    page.wait_for_function("document.querySelector('#cq-glance-note').innerText.includes('tagged')")
    page.get_by_text("Filters (apply to the next questions)").click()
    assert page.input_value("#cq-origin textarea") == post
    assert page.input_value("#cq-tags textarea")
    # a click on one bar (the tallest): that period alone for the next question
    bars = page.locator('#cq-timeline path[aria-roledescription="bar"]')
    labels = [bars.nth(i).get_attribute("aria-label") or "" for i in range(bars.count())]
    tallest = max(range(len(labels)), key=lambda i: int(labels[i].rsplit(":", 1)[1]))
    period = labels[tallest].split(":")[1].split(";")[0].strip()
    page.locator("#cq-timeline svg").scroll_into_view_if_needed()
    bars.nth(tallest).click()
    page.wait_for_function("document.querySelector('#cq-glance-note').innerText.includes('dated')", timeout=10_000)
    assert page.input_value("#cq-since textarea") == period == page.input_value("#cq-until textarea")
    # drag across the bars: a date range for the next question
    page.locator("#cq-timeline svg").scroll_into_view_if_needed()
    box = page.locator("#cq-timeline svg").bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.15, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=8)
    page.mouse.up()
    page.wait_for_function("document.querySelector('#cq-since textarea').value != " + json.dumps(period),
                           timeout=10_000)
    since, until = page.input_value("#cq-since textarea"), page.input_value("#cq-until textarea")
    assert since and until and since < until
    filtered = ask(page, "war crimes and refugees")
    assert "Filters applied:" in filtered.inner_text() and f"origin ~ {post}" in filtered.inner_text()
    shot = tmp_path / "timeline.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # the conversation survives a reload, and a new one starts clean
    page.wait_for_timeout(1000)  # the browser copy is written after the answer
    page.reload()
    page.wait_for_function("document.querySelectorAll('#cq-chat .cq-answer').length == 2", timeout=30_000)
    assert target["id"] in page.inner_text("#cq-chat")
    page.wait_for_function("document.querySelector('#cq-glance-note [data-cables]')", timeout=60_000)
    page.click("#cq-new")
    page.wait_for_function("document.querySelectorAll('#cq-chat .cq-answer').length == 0")
    page.wait_for_timeout(1000)
    page.reload()
    page.wait_for_selector("#cq-status .cq-status")
    page.wait_for_timeout(2000)
    assert page.locator("#cq-chat .cq-answer").count() == 0
    page.get_by_role("button", name="Toggle Sidebar").click()
    # the earlier conversation is listed, none picked (the new one is empty); one click reopens it
    earlier = page.locator("#cq-conversations label").filter(has_text=target["subject"][:30]).first
    earlier.wait_for()
    assert page.locator("#cq-conversations input:checked").count() == 0
    earlier.click()
    page.wait_for_function(f"document.querySelector('#cq-chat').innerText.includes({json.dumps(target['id'])})",
                           timeout=60_000)
    assert page.locator("#cq-conversations input:checked").count() == 1
    assert page.locator("#cq-chat .cq-answer").count() >= 1


def test_watched_folder_and_removing_a_source(page, site):
    cable = real_cables(200, 3)[1]
    path = site["corpus"] / "dropped.jsonl"
    with open(path, "w", encoding="utf-8") as f:  # written in two goes, as a slow copy would
        f.write(json.dumps(real_cables(200, 1)[0]) + "\n")
        f.flush()
        time.sleep(0.5)
        f.write(json.dumps(cable) + "\n")
    wait_job(page, "watched folder: dropped.jsonl", timeout=180_000)
    page.wait_for_function("document.querySelector('#cq-sources').innerText.includes('dropped.jsonl')")
    assert cable["id"] in ask(page, cable["subject"]).inner_text()

    page.locator("#cq-remove-pick input").click()
    page.get_by_role("option").filter(has_text="dropped.jsonl").first.click()
    page.click("#cq-remove")
    page.locator("#cq-confirm").get_by_text("its 2 cables").wait_for()
    page.click("#cq-remove-yes")
    wait_job(page, "remove dropped.jsonl", timeout=120_000)
    page.wait_for_function("!document.querySelector('#cq-sources').innerText.includes('dropped.jsonl')")
    assert not path.exists() and list((site["corpus"] / ".removed").glob("*dropped.jsonl"))
    assert cable["id"] not in ask(page, cable["subject"]).inner_text()
