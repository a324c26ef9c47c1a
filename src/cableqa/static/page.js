() => {
  // The page script of `cableqa serve`, run once on load (ui.launch). Event handlers call it through
  // window.cableqa: ui.PICK_JS, ui.SHOW_CABLE_JS and ui.SHOW_ANSWER_JS.
  //
  // Citations are <a href="#cable/ID/ORDINAL"> links (render.cite_link): a click on one, or Enter on it,
  // keeps "ID#ordinal" for pick() and clicks the "Open" button, whose event renders that cable.
  const cq = (window.cableqa = {target: null, reveal: false});

  // The cable panel scrolls: a keyboard reaches it (Tab, then arrow keys) and a screen reader names it.
  const panel = document.getElementById("cq-cable");
  if (panel) {
    panel.tabIndex = 0;
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", "Cable cited");
  }
  // Gradio gives the empty chat's example buttons role="list", which needs "listitem" children (axe:
  // aria-required-children, critical): a named group instead, each time the examples are drawn.
  const chat = document.getElementById("cq-chat");
  const groupExamples = () => chat.querySelectorAll('.examples[role="list"]').forEach((el) => {
    el.setAttribute("role", "group");
    el.setAttribute("aria-label", "Example questions");
  });
  if (chat) {
    groupExamples();
    new MutationObserver(groupExamples).observe(chat, {childList: true, subtree: true});
  }

  // Scroll the panel `box` so that el is `margin` px below its top, without moving the window.
  const toTop = (box, el, margin) => {
    box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - margin;
  };
  // Bring el's top into the window if it is out of sight (a phone: the cable panel sits below the chat).
  const inWindow = (el) => {
    const top = el.getBoundingClientRect().top;
    if (top < 0 || top > innerHeight * 0.75) window.scrollBy({top: top - 8, behavior: "instant"});
  };
  const frames = (n) => new Promise((done) => {
    const step = () => (n-- > 0 ? requestAnimationFrame(step) : done());
    step();
  });

  document.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#cable/"]');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    const [id, ord] = a.getAttribute("href").slice("#cable/".length).split("/");
    cq.target = id + (ord ? "#" + ord : "");
    document.getElementById("cq-open").click();
  }, true);

  // The "Open" event's input: the citation clicked, else what was typed in the "Open cable" box.
  cq.pick = (typed) => {
    cq.reveal = true;  // a reader's choice: show the panel even where it is below the chat
    const t = cq.target;
    cq.target = null;
    return t || typed;
  };

  // After a cable renders: its highlighted paragraph near the panel's top; the panel into the window
  // only when the reader asked for it (a click), never over the answer just given.
  cq.showCable = async () => {
    await frames(2);
    const panel = document.getElementById("cq-cable");  // the scrolling panel (page.css)
    if (!panel) return;
    const para = panel.querySelector(".cq-target");
    const heading = panel.querySelector(".cq-cable-head");  // sticky: the paragraph goes just below it
    if (para) toTop(panel, para, (heading ? heading.offsetHeight : 0) + 12);
    else panel.scrollTop = 0;
    if (cq.reveal) inWindow(panel);
    cq.reveal = false;
  };

  // After an answer renders: its question and start (the quoted answer, the first excerpt) at the top of
  // the chat, earlier turns above it; then the cable it opened at its cited paragraph.
  cq.showAnswer = async () => {
    await frames(2);
    const log = document.querySelector('#cq-chat [role="log"]');  // the chat's scrolling message list
    const asked = log && [...log.querySelectorAll(".cq-question")].pop();
    if (asked) {
      toTop(log, asked, 12);
      inWindow(log);
    }
    await cq.showCable();
  };
}
