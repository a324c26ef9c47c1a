"""Header fields of a cable body: the labelled lines of its opening boilerplate.

``E.O. 12958: DECL: ...``, ``TAGS:``, ``SUBJECT:``, ``REF:``, ``Classified By:``,
each as a label that starts a line (or, in the media-cleaned HTML releases,
several glued into one line).  :mod:`cableqa.layout` finds where the header
ends; this module reads what it says, and which cables its ``REF:`` names.
"""

from __future__ import annotations

import re

# Header fields of the opening boilerplate.
_FIELDS = [
    ("eo", re.compile(r"^(?=E\.?\s?O\.?\s*1\d{4}\b)", re.IGNORECASE)),
    ("tags", re.compile(r"^TAGS?\s*:\s*|^TAGS\s+", re.IGNORECASE)),
    ("subject", re.compile(r"^SUBJ(?:ECT)?\s*:\s*", re.IGNORECASE)),
    # a capital R: "reftel. The Protocol ..." starting a wrapped line of prose is not the REF field
    ("ref", re.compile(r"^R(?i:EF(?:S|TEL|TELS|ERENCES?)?\s*(?::|\.(?=\s)|(?=\s+[A-Z]\.\s))\s*)")),
    ("classified_by", re.compile(r"^(?:CLASSIFIED\s+BY|DERIVED\s+FROM)\b\s*:?\s*", re.IGNORECASE)),
]
# Header fields glued into one line by the media-cleaned HTML releases.
_GLUED = re.compile(r"(?<=\S)\s*(?=E\.O\.\s?1\d{4}|TAGS:|SUBJECT:|REF:|Classified By:|SIPDIS)|(?<=SIPDIS)",
                    re.IGNORECASE)


def field_of(line: str) -> tuple[str, str] | None:
    """("subject", "KAZAKHSTAN: ...") for a line that starts a header field, else None."""
    for name, pattern in _FIELDS:
        m = pattern.match(line)
        if m:
            return name, line[m.end():].strip()
    return None


def glued(line: str) -> bool:
    """Whether ``line`` holds several header fields ("SIPDIS E.O. 12958: ... TAGS: ...")."""
    return len(_GLUED.findall(line)) >= 2


def split_glued_header(lines: list[str]) -> list[str]:
    """One line per field where an opening line holds several."""
    out = []
    for i, line in enumerate(lines):
        # "SIPDIS E.O. 12958: ... TAGS: ...", and a field line with another glued after it:
        # "REF: STATE 46477  Classified By: ... (d).  (C)"
        if i < 12 and (glued(line) or field_of(line) is not None and _GLUED.search(line) is not None):
            out.extend(part.strip() for part in _GLUED.split(line) if part.strip())
        else:
            out.append(line)
    return out


def parse_fields(blocks: list[list[str]]) -> dict[str, str]:
    """Field name -> its text (wrapped lines joined) for the header's blocks; unlabelled lines are "preamble"."""
    fields: dict[str, list[str]] = {}
    for block in blocks:
        current = "preamble"
        for line in block:
            found = field_of(line)
            if found:
                current, value = found
                fields.setdefault(current, [])
                if value:
                    fields[current].append(value)
            else:
                fields.setdefault(current, []).append(line)
        # a field ends with its block; a following unlabelled block is preamble again
    return {k: " ".join(v).strip() for k, v in fields.items() if v}


_REF_ITEM = re.compile(r"(?:\b(\d{2})\s+)?\b([A-Z][A-Z]+(?: [A-Z]+){0,3}?)\s+0*(\d{1,7})\b")


def reference_ids(refs: str, year: str) -> list[str]:
    """Cable ids a ``REF:`` line names, e.g. "A. ALMATY 4144" -> "05ALMATY4144" for a 2005 cable.

    A reference without a year is assumed to be from the citing cable's year
    (``year``: two digits); callers resolve against the ids they know.
    """
    out = []
    for yy, post, num in _REF_ITEM.findall(refs.upper().replace("¶", " ")):
        post = post.replace(" ", "")
        if post in {"REF", "REFTEL", "AND", "SECTION", "PARA", "PARAS", "OF"} or len(post) < 3:
            continue
        ident = f"{yy or year}{post}{num}"
        if ident not in out:
            out.append(ident)
    return out
