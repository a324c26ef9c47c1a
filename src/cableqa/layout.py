"""The layout of a cable body: opening boilerplate, numbered paragraphs, noise.

Teletype cables share a recognisable shape (see ``../shared/cables/README.md``)::

    C O N F I D E N T I A L  ALMATY 004281          <- classification banner
    SIPDIS                                          <- distribution caveat
    E.O. 12958: DECL: 12/02/2015                    <- header fields
    TAGS: PGOV, PREL, KZ, 2005 Election
    SUBJECT: KAZAKHSTAN: RUMORS OF ...
    REF: ALMATY 4144
    Classified By: DCM Mark Asquino, reasons 1.4 (B) and (D).

    1. (C) Summary:  A series of ill-advised ...   <- numbered, marked paragraphs
    ...
    ORDWAY                                          <- signature

:func:`parse` splits a body into header fields (metadata, read by
:mod:`cableqa.header`), paragraphs (the cable's own words, hard wraps joined)
and the noise it removed (SIPDIS lines, page-break and classification
banners, teletype trailers: :mod:`cableqa.noise`), so that every word of the
body ends up in exactly one of the three.  It never raises on
text input: the worst case for a body of unrecognised shape is one
paragraph per blank-line block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .header import field_of, glued, parse_fields, split_glued_header
from .markings import highest, inner_markings, lead_marking
from .noise import DATED, cut_inline_banners, drop_routing, newlines, strip_lines
from .numbering import MAX_GAP, SENTENCE_END, numbered, split_on_numbers, unique_numbers

_RULE = re.compile(r"^[-=_*]{3,}(?:[ \t]+[-=_*]{3,})*$")  # "-----", and one wrapped into two runs: "----- ---"

_BULLET = re.compile(r"^\s*(?:--|-\s|\*\s|o\s|[A-Za-z]\.\s|\(?[a-zA-Z0-9]{1,2}\)\s)")
_SIGNATURE = re.compile(r"^[A-Z][A-Za-z.'\-]*(?: [A-Z][A-Za-z.'\-]*){0,3}$")
GLUED_LINE = 1000  # characters: longer lines are paragraphs (or whole bodies) whose line breaks were lost
_INLINE_NUMBER = re.compile(r"(?<=\S)\s+(?=(\d{1,3})\.\s{0,3}(?:\([A-Za-z/ ]{1,12}\)(?:\s|$)|[A-Z\"]))")
# the Classified By line, or its wrapped reason: "REASON: 1.4 (b), (d) (S) Ambassador telephoned ..."
_CLASSIFIED = re.compile(r"^\s*(?:CLASSIFIED\s+BY|DERIVED\s+FROM|(?:FOR\s+)?REASONS?\b.{0,12}1\.[45])", re.IGNORECASE)
# "... reasons 1.4 b, d (C) Embassy London passed ...": a marking before prose, not before "AND (D)"
_SHORT_MARK = r"(?:U|C|S|SBU|LOU|[CS]//?NF|SBU/NF)"  # the markings these patterns look for inside a line
_MARKED_PROSE = re.compile(rf"\s+(?=\({_SHORT_MARK}\)\s+[A-Z][a-z])")
_TRAILING_MARK = re.compile(rf"(?<=[.)])\s+\(({_SHORT_MARK})\)\s*$")  # "... (d). (S)"
_INLINE_MARKED = re.compile(rf"(?<=[.)])\s+(?=\({_SHORT_MARK}\)\s+[A-Z])")
_RULE_THEN_NUMBER = re.compile(r"^[ \t]*-{3,}[- \t]*(?=\d{1,3}\.(?:\s|\())")  # "-------1.(U) Even"
# a whole-cable marking printed as a paragraph of its own, without brackets
_ENTIRE_TEXT = re.compile(r"^\(?\s*(UNCLASSIFIED|LIMITED OFFICIAL USE|CONFIDENTIAL|SECRET)\s*[-:]*\s*ENTIRE\s+TEXT\W*$",
                          re.IGNORECASE)
_WHOLE = {"UNCLASSIFIED": "U", "LIMITED OFFICIAL USE": "LOU", "CONFIDENTIAL": "C", "SECRET": "S"}


@dataclass(frozen=True)
class Paragraph:
    """One paragraph as printed: number and marking as in the cable, text with hard wraps joined."""

    ordinal: int  # position in the cable, from 1
    number: str | None  # printed number ("3"; "3'" for the second paragraph printed as 3), None if unnumbered
    # printed marking ("C", "S/NF"); the highest where the text holds several; in a cable whose paragraphs
    # print markings, an unmarked one (a redacted "3. xxxx", a list item, a sign-off) takes the marking of the
    # paragraph above it: it may continue that paragraph, and a citation must never show less than its text
    marking: str | None
    text: str
    section: str | None = None  # heading printed above the paragraph
    printed_marking: str | None = None  # the marking printed at its start, where ``marking`` may be higher


@dataclass(frozen=True)
class Layout:
    fields: dict[str, str]  # eo, tags, subject, ref, classified_by, preamble (addressees, caveats)
    paragraphs: tuple[Paragraph, ...]
    signature: str | None
    noise: tuple[str, ...] = field(default=())  # removed text, for accounting and tests


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _join_lines(lines: list[str]) -> str:
    """Join hard-wrapped teletype lines; keep line breaks before list items."""
    text = ""
    for line in lines:
        if not text:
            text = line
        elif _BULLET.match(line):
            text += "\n" + line
        elif text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].isalpha():
            text += line  # "SPD-" / "Green": a compound split at the wrap
        else:
            text += " " + line
    return text


def _is_heading(block: list[str], next_block: list[str] | None) -> str | None:
    words = [ln for ln in block if not _RULE.match(ln)]
    if any(numbered(ln) is not None for ln in words):
        return None  # "1. (C) TITLE" or "1. SUMMARY" between rules opens paragraph 1; it heads nothing else
    if (len(words) != len(block) and 1 <= len(words) <= 2 and all(len(w) <= 80 for w in words)
            and next_block is not None and (len(next_block) > 1 or numbered(next_block[0]) is not None)):
        return " ".join(words)
    if (len(block) == 1 and len(block[0]) <= 60 and len(block[0].split()) <= 8
            and not SENTENCE_END.search(block[0]) and not _BULLET.match(block[0]) and numbered(block[0]) is None
            and next_block is not None and numbered(next_block[0]) is not None):
        return block[0]
    return None


LONG_HEADER_LINE = 300  # characters; wrapped header lines are under 70
HEADER_BLOCKS = 40  # the header (fields, REF lists) lies within a cable's first blocks
_REF_ITEM_LINE = re.compile(r"^\(?[A-Z]\)?[.)]?\s+(?:\d{2}\s+)?[A-Z][A-Za-z ]+\s+0*\d{1,7}\b")
# one lettered item anywhere in a line, "B) Reykjavik 139" (not header.py's id reader, which needs no letter)
_LETTERED_REF = re.compile(r"\(?[A-Z]\)?[.)]?\s+(?:\d{2}\s+)?[A-Z][A-Za-z]*(?:\s+[A-Za-z]+){0,3}\s+0*\d{1,7}\b")


def _ref_items(line: str) -> bool:
    """Whether ``line`` continues a REF list ("B) Reykjavik 139 and previous"): items and few other words.
    A marked paragraph that only starts like one ("(U) PolOffs delivered ... on October 30. Darwish ...")
    has many; a header reprinted on one line (truncated cables) stays header."""
    return bool(_REF_ITEM_LINE.match(line)) and (len(_LETTERED_REF.sub(" ", line).split()) <= 15 or glued(line))


def _split_before_first_paragraph(blocks: list[list[str]]) -> list[list[str]]:
    """A header printed without a blank line before ¶1 ("REF: ALEXANDRIA 289" / "1. (C) ...") is cut
    there, so that the header field does not swallow the cable (2.7 % of the full corpus did)."""
    out: list[list[str]] = []
    for i, block in enumerate(blocks):
        cut = None
        if i < HEADER_BLOCKS and any(field_of(line) for line in block):
            # ¶1, or a line too long to be a wrapped header line (the body, unwrapped)
            cut = next((k for k in range(1, len(block)) if not field_of(block[k]) and (
                len(block[k]) > LONG_HEADER_LINE or (n := numbered(block[k])) is not None and n[0] == 1
                and not _REF_ITEM_LINE.match(block[k]) and (n[1] is not None or len(n[2].split()) >= 4))), None)
        out += [block[:cut], block[cut:]] if cut else [block]
    return out


def _preamble_end(blocks: list[list[str]]) -> int:
    """Index of the first content block: after the last header-field block that precedes ¶1.

    Blocks that only continue the header (further REF items, a wrapped
    "Classified By" reason such as "d).") belong to it too.
    """
    last_field = -1
    for i, block in enumerate(blocks[:HEADER_BLOCKS]):
        if numbered(block[0]) is not None and last_field >= 0:
            break
        if any(field_of(line) for line in block):
            last_field = i
        elif last_field == i - 1 >= 0 and (all(_ref_items(ln) for ln in block)
                                           or len(" ".join(block).split()) <= 3):
            last_field = i
        elif last_field >= 0 and i - last_field > 2:
            break
    return last_field + 1


def _heading_blocks(blocks: list[list[str]]) -> list[list[str]]:
    """Give each ruled heading ("Summary" over "-------") a block of its own."""
    split: list[list[str]] = []
    for block in blocks:
        # "Summary / ------- / 1. (U) With ..." printed without a blank line after the rule
        while True:
            rules = [k for k, ln in enumerate(block) if _RULE.match(ln)]
            cut = next((k for k in rules if k < len(block) - 1 and k <= 3
                        and not _RULE.match(block[k + 1])
                        and sum(not _RULE.match(ln) for ln in block[:k]) >= 1), None)
            if cut is None:
                break
            split.append(block[: cut + 1])
            block = block[cut + 1:]
        split.append(block)
    out: list[list[str]] = []
    for block in split:
        # a rule printed as its own block belongs to the heading beside it
        if all(_RULE.match(ln) for ln in block):
            if out and len(out[-1]) <= 2 and not all(_RULE.match(ln) for ln in out[-1]):
                out[-1] = out[-1] + block
                continue
        if out and all(_RULE.match(ln) for ln in out[-1]) and len(block) <= 2:
            out[-1] = out[-1] + block
            continue
        out.append(block)
    return out


def _signature(paragraphs: list[dict]) -> str | None:
    if not paragraphs:
        return None
    last = paragraphs[-1]
    lines = last["lines"]
    if not lines:
        return None
    candidate = lines[-1]
    if not _SIGNATURE.match(candidate) or len(candidate) > 40:
        return None
    alone = len(lines) == 1 or last["block_starts"][-1] == len(lines) - 1
    if not alone and not SENTENCE_END.search(lines[-2]):
        return None
    if len(lines) == 1 and last["number"] is not None:
        return None
    lines.pop()
    if last["block_starts"] and last["block_starts"][-1] >= len(lines):
        last["block_starts"].pop()
    if not lines:
        paragraphs.pop()
    return candidate


def _paragraph_text(lines: list[str], block_starts: list[int]) -> str:
    """Join blocks of one paragraph: a stray blank line mid-sentence joins with a space."""
    bounds = block_starts + [len(lines)]
    text = ""
    for start, end in zip(bounds, bounds[1:]):
        piece = _join_lines(lines[start:end])
        if not text:
            text = piece
        elif not SENTENCE_END.search(text) and not _BULLET.match(piece) and numbered(piece) is None:
            text += " " + piece  # a sentence running on across a stray blank line or a removed SIPDIS
        else:
            text += "\n" + piece
    return text


def _marked(line: str, number: re.Match) -> bool:
    """Whether the inline paragraph number ``number`` (an :data:`_INLINE_NUMBER` match) has a marking: "1. (C)"."""
    return re.match(r"\.\s{0,3}\(", line[number.end(1):]) is not None


def _split_glued_body(lines: list[str]) -> list[str]:
    """A body whose line breaks were lost ("...REASON: 1.4 (b), (d)  1.  (C)  Summary: ...  2. (C) ...")
    is cut before each inline paragraph number that continues the count of the lines above (or, in a
    header field line without numbers, before the first marked paragraph), so that the header field
    on that line does not swallow the cable, nor one paragraph the next."""
    out: list[str] = []
    count = 0  # the last paragraph number printed at a line start (or cut out of a line) so far
    for line in lines:
        if ruled := _RULE_THEN_NUMBER.match(line):  # "-------- 1.  Ambassador visited ...": a heading's rule
            out += [line[:ruled.end()].strip(), ""]  # glued to the numbered paragraph below it
            line = line[ruled.end():]
        if (found := numbered(line)) is not None:
            count = found[0]
        glued = len(line) >= GLUED_LINE
        classified = _CLASSIFIED.match(line)
        if not glued and (classified or field_of(line)):
            # "Classified By: ... 1.4 (b) and (d). (SBU) MFA Director ...", "REF: A. LONDON 2697  1. (SBU) The UK
            # ...": the cable's first paragraph glued to a header line starts there, at its number if printed
            by = next((m for m in _INLINE_NUMBER.finditer(line) if m.group(1) == "1" and _marked(line, m)), None) \
                or _INLINE_MARKED.search(line) or (_MARKED_PROSE.search(line) if classified else None)
            out += [line[:by.start()], "", line[by.end():]] if by else [line]
            continue
        # the count goes on from the lines above ("... against the USG. 9.  (C)  Castells ..." after "8. (C)");
        # in a shorter line only a marked next number is trusted ("... City.  6.  (SBU)  Piquetero protests")
        start, expected = 0, count + 1
        for m in _INLINE_NUMBER.finditer(line):
            n, marked = int(m.group(1)), _marked(line, m)
            if marked and n == expected or glued and (n == expected or marked and expected < n <= expected + MAX_GAP):
                out += [line[start:m.start()], ""]
                start, expected = m.end(), n + 1  # a marked one may skip (redacted paragraphs)
        count = expected - 1
        marked = _INLINE_MARKED.search(line) if glued and expected == 1 and field_of(line) else None
        if marked:  # no numbers: the header field ends where the first marked paragraph starts
            out += [line[:marked.start()], ""]
            start = marked.end()
        out.append(line[start:])
    return out


def _heads_numbered(content: list[list[str]], i: int, last: int | None) -> bool:
    """Whether the heading ``content[i]`` (with any headings stacked below it) stands over a numbered
    paragraph; with ``last`` (a cable whose paragraphs print markings), only over one that is marked or
    continues the count from ``last``: unmarked "1." under "Article 1" is quoted text, not a section."""
    for j in range(i + 1, len(content)):
        if _is_heading(content[j], content[j + 1] if j + 1 < len(content) else None) is None:
            found = numbered(next((ln for ln in content[j] if not _RULE.match(ln)), ""))
            return found is not None and (last is None or found[1] is not None or last < found[0] <= last + MAX_GAP)
    return False


def parse(body: str) -> Layout:
    """Split a cable body into header fields, paragraphs and removed noise."""
    noise: list[str] = []
    body = newlines(body)
    dated = DATED.match(body)
    if dated:
        noise.append(dated.group().strip())
        body = body[dated.end():]
    lines = strip_lines(_split_glued_body(split_glued_header(body.split("\n"))), noise)
    blocks = _split_before_first_paragraph(_blocks(lines))
    start = _preamble_end(blocks)
    fields = parse_fields(blocks[:start])

    paragraphs: list[dict] = []
    last_number = 0
    section: str | None = None
    section_used = True
    # a marking printed alone ("Classified By: ... (d). (S)") marks the paragraph below it
    pending = m.group(1) if (m := _TRAILING_MARK.search(fields.get("classified_by", ""))) else None
    content = _heading_blocks(drop_routing(blocks[start:], noise))
    # where a marked "N. (C)" comes later, an unmarked "N." before it is a sub-item, not paragraph N
    marked_later: dict[int, int] = {}
    for i, block in enumerate(content):
        found = numbered(block[0])
        if found and found[1] is not None:
            marked_later[found[0]] = i
    # paragraphs that print markings also mark a new section's "1. (C)": an unmarked number that does not
    # continue the count there is an item of the paragraph above it (a list, a quoted text), never its own
    marked = bool(marked_later)
    for i, block in enumerate(content):
        nxt = content[i + 1] if i + 1 < len(content) else None
        heading = _is_heading(block, nxt)
        # a heading heads the paragraphs below it; inside a numbered paragraph whose text goes on
        # below it ("A. STRAIGHT FORWARD" in paragraph 2) it is that paragraph's text
        if heading is not None and nxt is not None and (
                last_number == 0 or _heads_numbered(content, i, last_number if marked else None)):
            # consecutive headings (a contents list, say) stack up rather than vanish
            section = heading if section_used or section is None else f"{section} / {heading}"
            section_used = False
            continue
        for part in split_on_numbers(block, last_number):
            rules = [ln for ln in part if _RULE.match(ln)]
            noise.extend(rules)  # ruling around a numbered title is layout, not words
            part = [ln for ln in part if not _RULE.match(ln)] if rules else part
            if not part:
                continue
            found = numbered(part[0])
            numbered_ok = found is not None and (
                found[1] is not None  # a marked number always starts a paragraph, repeated or restarted too
                or last_number < found[0] <= last_number + MAX_GAP or (last_number == 0 and found[0] <= MAX_GAP)
                or found[0] == 1 and not section_used and not marked  # numbering restarting under a new heading
            ) and not (found[1] is None and marked_later.get(found[0], -1) > i)
            if numbered_ok:
                number, marking, rest = found
                last_number = number
                first = [rest] if rest else []
                paragraphs.append({"number": str(number), "markings": [marking], "section": section,
                                   "lines": first + part[1:], "block_starts": [0]})
            elif paragraphs and section_used and (
                    last_number > 0 or len(" ".join(paragraphs[-1]["lines"]).split()) < 12):
                # continuation of the current numbered paragraph (or of a too-short block)
                paragraphs[-1]["markings"].append(lead_marking(part)[0])  # the words keep it, the label rises
                paragraphs[-1]["block_starts"].append(len(paragraphs[-1]["lines"]))
                paragraphs[-1]["lines"].extend(part)
            else:
                marking, part = lead_marking(part)
                if not "".join(part).strip():  # "(S)" alone on its line
                    pending = marking
                    continue
                paragraphs.append({"number": None, "markings": [marking, pending], "section": section,
                                   "lines": list(part), "block_starts": [0]})
                pending = None
            section_used = True

    signature = _signature(paragraphs)
    unique_numbers(paragraphs)
    out = []
    above, prints_markings = None, any(p["markings"][0] for p in paragraphs)
    for p in paragraphs:
        # a banner a stray line break split in two is whole again once the lines are joined
        text = cut_inline_banners(_paragraph_text(p["lines"], p["block_starts"]), noise).strip()
        marking = highest([*p["markings"], *inner_markings(text)]) or (above if prints_markings else None)
        if (whole := _ENTIRE_TEXT.match(text)) and not marking:  # "1.  CONFIDENTIAL - ENTIRE TEXT.": all of it
            marking, prints_markings = _WHOLE[whole.group(1).upper()], True
        above = marking or above
        if text:
            out.append(Paragraph(ordinal=len(out) + 1, number=p["number"], marking=marking,
                                 text=text, section=p["section"], printed_marking=p["markings"][0]))
        elif printed := highest(p["markings"]):  # "1.  (CONFIDENTIAL - ENTIRE TEXT)": a printed marking with
            noise.append(f"{p['number']}. ({printed})")  # no text is noise, not lost (an inherited one is not printed)
    return Layout(fields=fields, paragraphs=tuple(out), signature=signature, noise=tuple(noise))


def parse_header(body: str, max_lines: int = 120) -> dict[str, str]:
    """Only the header fields of a body (cheap: reads its first lines)."""
    lines = newlines(body).split("\n", max_lines)[:max_lines]
    blocks = _split_before_first_paragraph(_blocks(strip_lines(split_glued_header(lines), [])))
    fields = parse_fields(blocks[: _preamble_end(blocks)])
    if fields.get("tags", "").islower():  # media-cleaned releases print "Tags: prel, pgov"
        fields["tags"] = fields["tags"].upper()
    return fields
