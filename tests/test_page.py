"""The chat page as a reader meets it, in Chromium at a laptop's size (1366x768) and a phone's (390x844).

Each test runs at both sizes: the start of a new answer in sight, its cable open beside it (below it
on a phone), a compact page, keyboard use, and no serious or critical violation found by axe-core run
in the page.  axe-core comes from npm: ``.ci/run`` installs it into ``.axe/`` (git-ignored); the axe
test skips without it.  Run with ``pytest -m browser``.
"""

from __future__ import annotations

import pytest

from conftest import ROOT
from test_browser import QUESTION, ask
from test_browser import app, browser, embedder, workdir  # noqa: F401 (fixtures: one app for this module)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"laptop": (1366, 768), "phone": (390, 844)}
AXE_VERSION = "4.14.1"  # the one .ci/run installs
AXE = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
FOLLOW_UP = "What did the Interior Minister tell the Ambassador about a youth group in Taraz?"

# Whether an element is wholly in sight: inside the window and inside every panel that scrolls it.
IN_SIGHT = """el => {
    const r = el.getBoundingClientRect();
    if (r.height === 0 || r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth) return false;
    for (let p = el.parentElement; p; p = p.parentElement) {
        if (!/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowY)) continue;
        const b = p.getBoundingClientRect();
        if (r.top < b.top - 1 || r.bottom > b.bottom + 1) return false;
    }
    return true;
}"""


@pytest.fixture(params=list(SIZES))
def page(request, browser, app):
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.size = request.param
    page.goto(app)
    page.wait_for_selector("#cq-status .cq-status")
    yield page
    context.close()


def in_sight(locator) -> bool:
    return locator.evaluate(IN_SIGHT)


def comes_into_sight(page, locator, timeout: float = 5000) -> None:
    """Wait until ``locator`` is in sight, then check that it stays there (nothing scrolls it away)."""
    locator.element_handle().wait_for_element_state("stable")
    page.wait_for_function(f"el => ({IN_SIGHT})(el)", arg=locator.element_handle(), timeout=timeout)
    page.wait_for_timeout(400)
    assert in_sight(locator)


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def test_a_new_answer_is_shown_from_its_start(page):
    answer = ask(page, QUESTION)
    first = answer.locator("a.cq-cite").first
    assert first.inner_text().startswith("05ALMATY4281 ¶3")
    comes_into_sight(page, first)  # the quoted answer's citation, not the end of excerpt 5
    assert in_sight(answer.locator(".cq-extract")) and in_sight(answer.locator(".cq-citeline").first)
    assert in_sight(page.locator("#cq-chat .cq-question").last)  # the question it answers, above it

    second = ask(page, FOLLOW_UP)
    comes_into_sight(page, second.locator(".cq-extract"))
    assert not in_sight(answer.locator(".cq-extract"))  # the earlier turn is above...
    page.locator('#cq-chat [role="log"]').evaluate("log => { log.scrollTop = 0; }")
    assert in_sight(answer.locator(".cq-extract"))  # ...a scroll away


def test_the_cited_cable_opens_beside_the_answer(page):
    answer = ask(page, QUESTION)
    target = page.locator('#cq-cable .cq-cable[data-cable="05ALMATY4281"] .cq-para.cq-target')
    target.wait_for()
    assert target.get_attribute("id") == "cq-p-3"
    assert page.locator("#cq-cable .cq-para").count() == 9  # the whole cable, without a click
    assert page.input_value("#cq-target textarea") == "05ALMATY4281#3"
    chat, cable = box(page, "#cq-chat"), box(page, "#cq-cable")
    if page.size == "laptop":  # beside the chat, the cited paragraph in sight
        assert cable["x"] >= chat["x"] + chat["width"] and cable["y"] < 768 / 4
        comes_into_sight(page, target)
    else:  # below the chat, the cited paragraph at the top of its panel; the answer keeps the window
        assert cable["y"] >= chat["y"] + chat["height"]
        page.wait_for_function("""() => { const p = document.getElementById("cq-cable");
            const t = p.querySelector(".cq-target").getBoundingClientRect().top - p.getBoundingClientRect().top;
            return t > 0 && t < p.clientHeight / 2; }""")
        assert in_sight(answer.locator("a.cq-cite").first)

    # another citation switches it (and brings it into sight on a phone too)
    answer.locator('.cq-citeline a[href="#cable/05ALMATY4281/4"]').click()
    switched = page.locator("#cq-cable #cq-p-4.cq-target")
    switched.wait_for()
    comes_into_sight(page, switched)
    assert page.locator("#cq-cable .cq-target").count() == 1
    page.locator('#cq-cable a[href="#cable/06TESTVILLE7"]').click()  # "cited by": another cable
    page.locator('#cq-cable .cq-cable[data-cable="06TESTVILLE7"]').wait_for()
    comes_into_sight(page, page.locator("#cq-cable .cq-cable-id"))


def test_the_page_is_compact_until_used(page, tmp_path):
    viewport = SIZES[page.size][1]
    assert page.locator("#cq-export, #cq-chat ~ .file-preview").count() == 0  # no empty file box
    for control in ("#cq-question textarea", "#cq-ask"):  # the question box in sight on load
        assert box(page, control)["y"] + box(page, control)["height"] <= viewport
    if page.size == "laptop":  # ...and every tool, and the cable panel beside the chat
        assert box(page, "#cq-filters")["y"] + box(page, "#cq-filters")["height"] <= viewport
        assert box(page, "#cq-cable")["y"] < viewport / 4
    assert page.locator("#cq-export-md").is_disabled() and page.locator("#cq-export-csv").is_disabled()
    assert not page.locator("#cq-origin").is_visible()  # filters folded away until opened

    # the examples sit in the empty chat; one click asks
    page.locator("#cq-chat").get_by_role("button", name=QUESTION).click()
    answer = page.locator("#cq-chat .cq-answer").first
    answer.wait_for()
    assert "05ALMATY4281 ¶3" in answer.inner_text()
    page.wait_for_function("!document.querySelector('#cq-export-md').disabled")
    with page.expect_download() as download:  # export: a button that downloads
        page.click("#cq-export-md")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".md" and "05ALMATY4281 ¶3 (C)" in saved.read_text(encoding="utf-8")

    page.get_by_text("Filters (apply to the next questions)").click()
    page.locator("#cq-origin textarea").wait_for(state="visible")


def test_keyboard_alone(page):
    focused = "document.activeElement === document.querySelector('#cq-question textarea')"
    assert page.evaluate(focused)  # the question box has the focus on load
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")  # Enter asks
    page.locator("#cq-chat .cq-answer").wait_for()
    assert page.evaluate(focused) and page.input_value("#cq-question textarea") == ""

    # citations are links reached with the Tab key (backwards from the question box: the answer's last ones)
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        href = page.evaluate("document.activeElement.matches('#cq-chat a.cq-cite') && "
                             "document.activeElement.getAttribute('href')")
        if href:
            break
    else:
        pytest.fail("no citation link reached with Shift+Tab from the question box")
    page.keyboard.press("Enter")  # opens that cable at that paragraph
    cable, ordinal = href.removeprefix("#cable/").split("/")
    page.locator(f'#cq-cable .cq-cable[data-cable="{cable}"] #cq-p-{ordinal}.cq-target').wait_for()
    assert page.input_value("#cq-target textarea") == f"{cable}#{ordinal}"


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations in the page as it is now."""
    if not AXE.exists():
        pytest.skip(f"needs axe-core's axe.min.js at {AXE}: `npm install --prefix .axe axe-core@{AXE_VERSION}` "
                    "(.ci/run does it)")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document)).violations.map(v => ({
        id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violation(page, scheme):
    page.emulate_media(color_scheme=scheme)
    page.reload()  # Gradio picks its light or dark theme as the page loads
    page.wait_for_selector("#cq-status .cq-status")
    assert page.evaluate("document.body.classList.contains('dark')") == (scheme == "dark")
    assert axe_violations(page) == []  # the empty page
    ask(page, QUESTION)
    page.locator("#cq-cable .cq-target").wait_for()
    page.wait_for_timeout(500)
    assert axe_violations(page) == []  # an answer, its cable open
    page.get_by_text("Filters (apply to the next questions)").click()
    page.locator("#cq-origin textarea").wait_for(state="visible")
    assert axe_violations(page) == []  # the filters open
