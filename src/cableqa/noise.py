"""What a cable body carries besides the cable's words, and the line breaks it lost or mangled.

Removed as noise (each piece kept in ``noise`` lists, so that every word of a
body is accounted for): classification banners, SIPDIS and other caveat
lines, teletype page-break banners ("PAGE 02  ZAGREB  01189  01 OF 05
061107Z") and the later ones ("BERLIN 00001767  003 OF 003"), also where a
release joined them into the text, and teletype trailers.  :mod:`cableqa.layout`
calls these before it finds header fields and paragraphs.
"""

from __future__ import annotations

import re

from .header import field_of

_CLASS_WORDS = ("UNCLASSIFIED", "UNCLAS", "CONFIDENTIAL", "SECRET", "TOP SECRET",
                "LIMITED OFFICIAL USE")


def _spaced(word: str) -> str:
    # "CONFIDENTIAL" also prints as "C O N F I D E N T I A L".
    return r"\s?".join(re.escape(ch) for ch in word.replace(" ", ""))


_CLASS = "(?:" + "|".join(_spaced(w) for w in sorted(_CLASS_WORDS, key=len, reverse=True)) + ")"
# A whole line that is only a classification banner, e.g.
# "C O N F I D E N T I A L SECTION 01 OF 03 ANKARA 008852", "UNCLAS MADRID 000123",
# "CONFIDENTIAL     PTQ9863", "SECRET//NOFORN", "UNCLASSIFIED".
_BANNER = re.compile(
    rf"^{_CLASS}(?:\s*//?\s*[A-Z]+(?:\s[A-Z]+)?)*"
    r"(?:\s+(?:SECTION|SECT|PART)\s+\d+\s+OF\s+\d+)?"
    r"(?:\s+[A-Z][A-Z .'-]{1,30}?\s+\d{1,7})?"
    r"(?:\s+[A-Z]{2,4}\d{3,6})?"
    r"(?:\s+(?:SIPDIS|NOFORN|SENSITIVE|NODIS|EXDIS|LIMDIS)[ ,]*)*\s*$",
    re.IGNORECASE,
)
# Page-break banner at the start of a line: "PAGE 02  ZAGREB  01189  01 OF 05  061107Z".
_PAGE = re.compile(r"^PAGE\s+\d{1,3}\s+(?:RUE[A-Z]+\d*\s+)?(?:[A-Z][A-Z .]{0,20}?\s+\d{3,7}\s+(?:\d{2}\s+OF\s+\d{2}\s+)?\d{6}Z)?\s*")
# The later page-break banner, a whole line: "BERLIN 00001767  003 OF 003", "BUENOS AIR 00000853 002 OF 005"
# (the post cut to 10 letters), "ZAGREB 00000925  001.2 OF 003" (a page's second part).
_CONTINUED = re.compile(r"^[A-Z][A-Z .'-]{1,11}\s\d{8}\s+\d{3}(?:\.\d)?\s+OF\s+\d{3}$")
# ... and inside a line, where a release joined it to the text around it: up to three capitalised
# words before the number, of which the post is the longest tail of 10 characters or fewer.
_CONTINUED_INLINE = re.compile(
    r"(?:(?<=\s)|^)((?:[A-Z][A-Z.'-]*\s){0,2}[A-Z][A-Z.'-]*)\s(\d{8}\s+\d{3}(?:\.\d)?\s+OF\s+\d{3})\b")
_SIPDIS = re.compile(r"\bS\s?I\s?P\s?D\s?I\s?S\b\s*", re.IGNORECASE)
_CAVEAT_LINE = re.compile(r"^(?:(?:SIPDIS|NOFORN|SENSITIVE|NODIS|EXDIS|LIMDIS)[\s,;.\\]*)+$", re.IGNORECASE)
# teletype routing stamps: "------4A4A84 251247Z /38" (a DTG rule), "P 151544Z JAN 03" (precedence and DTG)
_DTG_RULE = r"-{4,}[0-9A-F]{4,8}\s+\d{6}Z\s+/\d+"
_PRECEDENCE_DTG = r"[OPRZ]\s+\d{6}Z\s+[A-Z]{3}\s+\d{2}"
_TRAILER = re.compile(  # also a DTG rule that a page break left alone
    r"^(?:NNNN|" + _DTG_RULE + r"|=+\s*CABLE ENDS\s*=+|\d{4}[A-Z]{3,8}\d{5}\s+-\s+.*|v\d+(?:\.\d+)+|>{3,}.*|#\d{4}\s*)$"
)
DATED = re.compile(r"^\s*Cable dated:\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?")


def newlines(body: str) -> str:
    """Every line break as "\\n" (some bodies break lines with U+2028 LINE SEPARATOR; raw cables.csv
    rows escape each line break with a backslash)."""
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return body.replace("\\\n", "\n")


def cut_inline_banners(text: str, noise: list[str]) -> str:
    """``text`` without the later page banners inside it (each added to ``noise``)."""
    def cut(m: re.Match) -> str:
        words = m.group(1).split()
        keep = next(i for i in range(len(words) + 1) if len(" ".join(words[i:])) <= 10)
        noise.append(" ".join(words[keep:] + [m.group(2)]))
        return " ".join(words[:keep])

    if not _CONTINUED_INLINE.search(text):
        return text
    return re.sub(r"[ \t]{2,}", " ", _CONTINUED_INLINE.sub(cut, text)).strip()


def strip_lines(lines: list[str], noise: list[str]) -> list[str]:
    kept = []
    for line in lines:
        text = line.strip()
        if not text:
            kept.append("")
            continue
        page = _PAGE.match(text)
        if page and (page.end() > len("PAGE 0") + 3 or not text[page.end():]):
            noise.append(text[: page.end()].strip())
            text = text[page.end():].strip()
            if not text:
                continue
        if _BANNER.match(text) or _CONTINUED.match(text) or _TRAILER.match(text) or _CAVEAT_LINE.match(text):
            noise.append(text)
            continue
        text = cut_inline_banners(text, noise)
        if not text:
            continue
        if _SIPDIS.search(text):
            noise.extend(m.group().strip() for m in _SIPDIS.finditer(text))
            text = _SIPDIS.sub("", text).strip()
            if not text or _CAVEAT_LINE.match(text):
                if text:
                    noise.append(text)
                continue
        kept.append(text)
    return kept


# A teletype routing block printed again inside a body, at a page break of a multi-section cable:
# "ACTION EUR-00", "INFO  LOG-00   AID-00 ...", "/007W", "------2605E9  151753Z /45", "P 151544Z JAN 03",
# "FM AMEMBASSY ZAGREB", "TO SECSTATE WASHDC PRIORITY 9208", then the header fields repeated.
_ROUTING_START = re.compile(r"^(?:ACTION\s+[A-Z0-9]+-\d\d\b|INFO\s+(?:[A-Z0-9]+-\d\d\s*){2,}$"
                            rf"|{_PRECEDENCE_DTG}$)")
_ROUTING_LINE = re.compile(r"^(?:(?:ACTION|INFO)\s+)?(?:[A-Z0-9]+-\d\d\s*)+(?:/\d{2,3}W)?$|^/\d{2,3}W$"
                           rf"|^{_DTG_RULE}$|^{_PRECEDENCE_DTG}$")
_ADDRESS = re.compile(r"^(?:FM|TO|INFO)\s+[A-Z]|^(?:AMEMBASSY|AMCONSUL|USMISSION|USDEL|SECSTATE|SECDEF)\b"
                      r"|^[A-Z][A-Z .,/-]*\b(?:PRIORITY|IMMEDIATE|ROUTINE|NIACT)\b(?:\s+\d+)?$")


def drop_routing(blocks: list[list[str]], noise: list[str]) -> list[list[str]]:
    """The blocks without the routing blocks printed inside a body (each line added to ``noise``):
    the routing lines, addressees and the header fields repeated after them."""
    out: list[list[str]] = []
    routing = False
    for block in blocks:
        kept: list[str] = []
        in_field = False
        for line in block:
            if _ROUTING_START.match(line):
                routing = True
            if routing and (_ROUTING_LINE.match(line) or _ADDRESS.match(line) or field_of(line)
                            or in_field):
                in_field = in_field or field_of(line) is not None  # a field's wrapped lines go with it
                noise.append(line)
                continue
            routing = False
            kept.append(line)
        if kept:
            out.append(kept)
    return out
