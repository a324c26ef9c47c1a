"""Citation audit: is every chunk cited under the number and marking its cable prints, in its words?

Question (issue 21): for each chunk the indexer would store, measured against the raw cable body
and not against the parser's own view of it:

* **number** — the label's ¶ number is the number printed at the start of the paragraph that
  holds the chunk (the last printed "N." paragraph start at or before the chunk's first word);
  no two paragraphs of a cable share a label;
* **marking** — the label's marking is the highest marking printed in that paragraph up to the
  chunk's end ("N. (C)", "(S) The minister ..."), and is never lower (*understated*);
* **verbatim** — the chunk's words are the body's words in order, apart from removed noise
  (banners, SIPDIS, page breaks, routing lines, rules) and hyphens joined across a line break;
* **lost** — cables with paragraph text (a printed paragraph start or marked sentence, or 20+ words
  outside header and noise) but no chunk.

Baseline: the same audit of the chunker at another git revision, run in the same way
(``--src`` points at that revision's ``src/``), so before and after come from one script:

    python benchmarks/citations.py --sample 200 --out benchmarks/results/citations-sample200.txt
    python benchmarks/citations.py --corpus full --src /tmp/base/src --out ...citations-full-before.txt
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

from _common import CORPUS, SUBSET, Output, table

_SRC = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--src"), None)
if _SRC:  # ahead of this checkout's src/ (which _common put first): audit another revision's chunker
    sys.path.insert(0, str(Path(_SRC).resolve()))

# the audit's own reading of markings, deliberately not cableqa.markings': it checks the parser
_LEVELS = {"U": 0, "UNCLAS": 0, "UNCLASSIFIED": 0, "SBU": 1, "LOU": 1, "FOUO": 1, "C": 2, "CONFIDENTIAL": 2,
           "S": 3, "SECRET": 3, "TS": 4, "TOP": 4}
# "(C)", "(S/NF)", "(SBU, NOFORN)", and a gloss inside the marking: "(SBU (Unclas unless otherwise indicated))"
_MARK = r"\(\s*((?i:TS|S|C|U|SBU|LOU|FOUO|UNCLAS)(?:\s*(?://?|,)\s*[A-Za-z]+(?:\s[A-Za-z]+){0,3})*)(?:\s*\([^()\n]{1,60}\))?\s*\)"
# a printed paragraph start at a line start: "3. (C)", "12.(S/NF)", "4) (U)"; unmarked "5. The"
_MARKED_START = re.compile(rf"^[ \t]*(?:-{{3,}}[- \t]*)?(\d{{1,3}})(?:\.|\)|(?=[ \t]))[ \t]*{_MARK}", re.MULTILINE)
_MARK_FIRST_START = re.compile(rf"^[ \t]*{_MARK}[ \t]*(\d{{1,3}})\.", re.MULTILINE)  # "(SBU) 1. The ..."
_PLAIN_START = re.compile(r"^[ \t]*(?:-{3,}[- \t]*)?(\d{1,3})\.[ \t]*(?=[A-Za-z\"(])", re.MULTILINE)  # "3. a) Claimant C" too
_INLINE_START = re.compile(rf"(?<=\s)(\d{{1,3}})\.\s{{0,3}}{_MARK}")  # in lines whose breaks were lost
_ANY_MARK = re.compile(rf"(?:^|(?<=[.:;\"')]\s)|(?<=[.:;\"')]\s\s)){_MARK}\s+(?=[A-Z\"])", re.MULTILINE)  # opening a sentence
_TOKEN = re.compile(r"\S+")
_MID_SENTENCE = re.compile(r"[^\n]{40,}[a-z0-9,][ \t]*\n[ \t]*\Z")  # a long line ending in a word or a comma
_RULE_TOKEN = re.compile(r"^[-=_*]{3,}$")


def level(marking: str | None) -> int:
    """U 0 < SBU/LOU 1 < C 2 < S 3 < TS 4 (by the first word: "S/NF" is S); -1 for no marking."""
    if not marking:
        return -1
    return _LEVELS.get(re.split(r"[/ ,-]", marking.strip().upper(), maxsplit=1)[0], -1)


def printed_starts(body: str) -> list[tuple[int, int, str | None]]:
    """(offset, number, marking) of each paragraph start the body prints, in order: a marked
    "N. (C)" wherever it stands; an unmarked "N." where it continues the count (which starts at 1 or 2,
    and may skip a few redacted numbers in a cable without markings; a list item "3." wrapped to a line
    start, its "1." and "2." inside the lines above, starts nothing)."""
    marked = [(m.start(), int(m.group(1)), m.group(2)) for m in _MARKED_START.finditer(body)]
    marked += [(m.start(), int(m.group(2)), m.group(1)) for m in _MARK_FIRST_START.finditer(body)]
    # a marked start inside a line whose breaks were lost: any in a line of 1,000+ characters; in a shorter
    # line (``inline``) only where the number continues the count
    inline: set[int] = set()
    for line in re.finditer(r"^[^\n]+$", body, re.MULTILINE):
        for m in _INLINE_START.finditer(line.group()):
            marked.append((line.start() + m.start(), int(m.group(1)), m.group(2)))
            if len(line.group()) < 1000:
                inline.add(line.start() + m.start())
    # an unmarked "N." does not start a paragraph right below a prose line that ends mid-sentence ("... will
    # join the EU on May\n1.  The requesters ..."); the parser under audit is never asked how it decides
    plain = [(m.start(), int(m.group(1)), None) for m in _PLAIN_START.finditer(body)
             if "---" in m.group() or not _MID_SENTENCE.search(body, max(0, m.start() - 300), m.start())]
    taken = {offset for offset, _, _ in marked}
    starts, last = [], 0
    for offset, n, marking in sorted(marked + [p for p in plain if p[0] not in taken]):
        if offset in inline:
            if n == last + 1:
                starts.append((offset, n, marking))
                last = n
        elif marking is not None or n == last + 1 or (not marked and last < n <= (last + 6 if last else 2)):
            starts.append((offset, n, marking))
            last = n
    return starts


def body_tokens(body: str, noise) -> tuple[list[str], list[int], list[bool]]:
    """The body's words (a hyphen ending a line joined to the next word), their offsets, and which
    are noise the chunker removes (``noise``: cableqa.noise, of the revision under audit)."""
    from cableqa.header import field_of

    patterns = [getattr(noise, name) for name in ("_ROUTING_LINE", "_ADDRESS") if hasattr(noise, name)]

    def routing(line: str) -> bool:  # routing lines and header fields printed again at a page break
        return bool(patterns) and (any(p.match(line) for p in patterns)
                                   or field_of(line) is not None and len(line) < 200)

    words, offsets, skippable = [], [], []
    pos, field_lines = 0, False
    for line in body.split("\n"):
        stripped = line.strip()
        kept = noise.strip_lines([stripped], []) if stripped else []
        # a header field printed again at a page break goes with its wrapped lines, as the chunker drops them
        # (a printed paragraph start ends them: a body without blank lines is not all header)
        field_lines = routing(stripped) and field_of(stripped) is not None or (
            field_lines and bool(stripped) and not _MARKED_START.match(stripped) and not _PLAIN_START.match(stripped))
        noisy_line = stripped and not kept or routing(stripped) or field_lines
        spans = [m.span() for p in (noise._SIPDIS, noise._CONTINUED_INLINE) for m in p.finditer(line)]
        for m in _TOKEN.finditer(line):
            word = m.group()
            if m.start() == len(line) - len(line.lstrip()) and (num := re.match(r"\d{1,3}\.(?=[A-Z\"])", word)):
                word = word[num.end():]  # "1.USAID": the number is the label, the word is text
            if glued := re.match(r"\((?:U|SBU|C|S|S/NF|C/NF)\)(?=\w)", word):
                word = word[glued.end():]  # "(U)Naula": the marking is the label, the word is text
            if (words and words[-1].endswith("-") and len(words[-1]) > 1 and words[-1][-2].isalpha()
                    and word[:1].isalpha() and offsets[-1] < pos and not skippable[-1]):
                words[-1] += word  # "SPD-" / "Green" joined at the wrap
                continue
            words.append(word)
            offsets.append(pos + m.start())
            skippable.append(bool(noisy_line) or bool(_RULE_TOKEN.match(word))
                             or any(a <= m.start() < b for a, b in spans))
        pos += len(line) + 1
    return words, offsets, skippable


def align(chunk: list[str], words: list[str], skippable: list[bool], after: int) -> tuple[int, int, int]:
    """(start, end, matched): where the chunk's words stand in the body, skipping only noise; the best
    start at or after ``after`` (else anywhere); matched == len(chunk) when verbatim."""
    best = (-1, -1, -1)
    starts = [j for j, w in enumerate(words) if w == chunk[0]]
    for j0 in sorted(starts, key=lambda j: (j < after, j)):
        i, j = 0, j0
        while i < len(chunk) and j < len(words):
            if words[j] == chunk[i]:
                i, j = i + 1, j + 1
            elif skippable[j]:
                j += 1
            else:
                break
        if i > best[2]:
            best = (j0, j, i)
        if i == len(chunk):
            break
    return best


def audit_cable(cable, chunks, noise) -> dict:
    """Per-chunk verdicts for one cable."""
    body = noise.newlines(cable.body)  # the line breaks as the cable prints them, not noise
    words, offsets, skippable = body_tokens(body, noise)
    starts = printed_starts(body)
    out = {"chunks": 0, "number": 0, "marking": 0, "understated": 0, "verbatim": 0, "bad": []}
    labels = {}
    after = 0
    for c in chunks:
        out["chunks"] += 1
        if c.window <= 1:
            labels.setdefault(c.para, set()).add(c.ordinal)
        toks = c.text.split()
        start, end, matched = align(toks, words, skippable, after)
        verbatim = matched == len(toks)
        if start < 0:
            out["bad"].append((c.id, "not found in body"))
            continue
        after = start + 1 if c.window > 1 else end  # windows overlap; whole paragraphs follow each other
        first = offsets[start]
        last_char = offsets[end - 1] if end > start else first
        head = [s for s in starts if s[0] <= first]
        expected = head[-1][1] if head else None
        got = int(c.para.rstrip("'").split("'")[0]) if c.para else None
        number_ok = got == expected
        # no printed start: a lead marking on the chunk's own first line ("(C) The minister"), not the one
        # closing the paragraph above it ("... INITIATOR.  (S)\n\nREACTION TO ...")
        region = head[-1][0] if head else max(body.rfind("\n", 0, first) + 1, first - 16)
        span = body[region:last_char + 1]
        marks = [m.group(1) for m in _ANY_MARK.finditer(body, region, last_char + 1)  # not list letters (A) (B) (C)
                 if len(m.group(1)) > 1 or m.group(1).isupper() and f"({chr(ord(m.group(1)) - 1)})" not in span]
        marks += [s[2] for s in starts if region <= s[0] <= last_char and s[2]]
        text_level = max([level(m) for m in marks], default=-1)
        marking_ok = level(c.marking) == text_level
        out["number"] += number_ok
        out["marking"] += marking_ok
        out["understated"] += level(c.marking) < text_level
        out["verbatim"] += verbatim
        if not (number_ok and marking_ok and verbatim):
            why = [] if number_ok else [f"printed ¶{expected}, cited ¶{c.para}"]
            why += [] if marking_ok else [f"text marked {text_level}, label {c.marking}"]
            why += [] if verbatim else [f"words differ after {matched} of {len(toks)}: "
                                        f"{' '.join(toks[max(0, matched - 3):matched + 3])!r}"]
            out["bad"].append((c.id, "; ".join(why)))
    shared = [p for p, ords in labels.items() if p is not None and len(ords) > 1]
    out["shared_labels"] = len(shared)
    content = [w for w, s in zip(words, skippable) if not s]
    out["lost"] = not chunks and (bool(starts) or _ANY_MARK.search(body) is not None
                                  or len(content) - header_words(body) >= 20)
    return out


def header_words(body: str) -> int:
    """Words of the opening boilerplate: up to the last header field line and its wrapped lines."""
    lines = body.split("\n")
    field = re.compile(r"^\s*(?:E\.?\s?O\.?\s*1\d{4}|TAGS?\b|SUBJ(?:ECT)?\s*:|REF|CLASSIFIED\s+BY|SIPDIS"
                       r"|C\s?O\s?N\s?F|S\s?E\s?C\s?R|UNCLAS)", re.IGNORECASE)
    last = max((i for i, ln in enumerate(lines[:40]) if field.match(ln)), default=-1)
    while last + 1 < len(lines) and lines[last + 1].strip():
        last += 1
    return sum(len(ln.split()) for ln in lines[:last + 1])


def load(corpus: str, sample: int | None, seed: int):
    from cableqa.cables import Report, read_file

    cables = list(read_file(CORPUS if corpus == "full" else SUBSET, Report()))
    if sample:
        cables = random.Random(seed).sample(cables, sample)
    return cables


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=["subset", "full"], default="subset")
    ap.add_argument("--sample", type=int, help="audit this many random cables (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ids", nargs="+", metavar="ID", help="audit only these cables (a fix's quick check)")
    ap.add_argument("--src", help="audit the chunker of another checkout's src/ (the baseline)")
    ap.add_argument("--show", type=int, default=25, help="list this many failing chunks")
    ap.add_argument("--out")
    args = ap.parse_args()

    from cableqa import chunks as chunking, noise
    try:
        from cableqa.embed import load_embedder
    except ImportError:  # a revision before the Embedder protocol (--src): its one Embedder class
        from cableqa.embed import Embedder as load_embedder

    out = Output("Citation audit (benchmarks/citations.py)", args.out)
    embedder = load_embedder()  # the real tokenizer decides where long paragraphs are cut, as in the indexer
    budget = embedder.max_tokens - 2
    t0 = time.perf_counter()
    cables = load(args.corpus, args.sample, args.seed)
    if args.ids:
        cables = [c for c in cables if c.id in set(args.ids)]
    totals = {"cables": 0, "chunks": 0, "number": 0, "marking": 0, "understated": 0, "verbatim": 0,
              "shared_labels": 0, "lost": 0}
    bad, lost = [], []
    for cable in cables:
        _, chunk_list = chunking.chunk_cable(cable, budget, embedder.count_tokens)
        r = audit_cable(cable, chunk_list, noise)
        totals["cables"] += 1
        for k in ("chunks", "number", "marking", "understated", "verbatim", "shared_labels"):
            totals[k] += r[k]
        totals["lost"] += r["lost"]
        bad += r["bad"]
        if r["lost"]:
            lost.append(cable.id)
    n = totals["chunks"] or 1
    which = f"{args.corpus}{f', {args.sample} random cables (seed {args.seed})' if args.sample else ''}"
    which += f", only {' '.join(args.ids)}" if args.ids else ""
    out.print(f"chunker: {chunking.__file__} (version {chunking.VERSION}); cables: {which}", "")
    out.print(table(["check", "result"], [
        ["cables / chunks", f"{totals['cables']:,} / {totals['chunks']:,}"],
        ["¶ number as printed", f"{100 * totals['number'] / n:.2f} %"],
        ["marking as printed (highest in the paragraph)", f"{100 * totals['marking'] / n:.2f} %"],
        ["chunks under a lower marking than their text", f"{totals['understated']:,}"],
        ["verbatim apart from noise and joined hyphens", f"{100 * totals['verbatim'] / n:.2f} %"],
        ["¶ labels shared by two paragraphs of a cable", f"{totals['shared_labels']:,}"],
        ["cables with paragraph text but no chunk", f"{totals['lost']:,}"],
    ]))
    out.print("", f"lost: {' '.join(lost[:40]) or '-'}", f"failing chunks (first {args.show} of {len(bad):,}):")
    out.print(*(f"  {cid}: {why}" for cid, why in bad[:args.show]))
    out.print(f"({time.perf_counter() - t0:.0f} s)")
    out.save()


if __name__ == "__main__":
    main()
