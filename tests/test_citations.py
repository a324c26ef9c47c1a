"""Citations that are always right (issue 21): every paragraph under its own printed number and
marking, never a lower marking than its text, every window an exact slice of its paragraph.

Known answers for small hand-written bodies of each shape, then for the real cables the audit
named (from ../shared, skipped when absent).
"""

from __future__ import annotations

import re

import pytest

from cableqa import layout, markings
from cableqa.cables import Cable
from cableqa.chunks import chunk_cable, windows
from cableqa.header import split_glued_header

HEADER = "CONFIDENTIAL\n\nE.O. 12958: DECL: 01/01/2015\nTAGS: PREL XX\nSUBJECT: A TEST\n\nClassified By: Amb. X, reasons 1.4 (b) and (d).\n\n"


def labels(body: str) -> list[tuple[str | None, str | None]]:
    return [(p.number, p.marking) for p in layout.parse(body).paragraphs]


def as_cable(ident: str, body: str) -> Cable:
    return Cable(id=ident, origin="", created="", classification="", tags=(), subject="", references=(),
                 body=body, source="test")


# --- shapes -----------------------------------------------------------------------------------

def test_next_number_on_the_next_line_starts_a_paragraph():
    body = HEADER + "1. (C) The minister arrived.\n2. (S) He said the plan was secret.\n3. (C) Comment: dull.\n"
    assert labels(body) == [("1", "C"), ("2", "S"), ("3", "C")]


def test_unmarked_numbers_split_after_a_sentence_only():
    body = HEADER + "1. The first point is made.\n2. The second point follows.\n"
    assert labels(body) == [("1", None), ("2", None)]
    wrapped = HEADER + "1. The total reached about\n2. million people, officials said.\n"
    assert labels(wrapped) == [("1", None)]


def test_repeated_and_restarting_numbers_never_share_a_label():
    body = HEADER + "1. (U) One.\n\n2. (U) Two.\n\n3. (U) Three.\n\n3. (C) COMMENT: Four.\n"
    assert labels(body) == [("1", "U"), ("2", "U"), ("3", "U"), ("3'", "C")]
    sections = HEADER + "Part A\n\n1. (U) a.\n\n2. (U) b.\n\nPart B\n\n1. (U) c.\n\n2. (U) d.\n\nPart C\n\n1. (U) e.\n"
    assert labels(sections) == [("1", "U"), ("2", "U"), ("1'", "U"), ("2'", "U"), ("1''", "U")]
    assert [p.section for p in layout.parse(sections).paragraphs][2:4] == ["Part B", "Part B"]


def test_a_numbered_title_between_rules_is_a_paragraph_not_a_heading():
    body = HEADER + ("-----------------\n1. (C) \"NEW WINE?\"\n-----------------\n\nIT WOULD BE IN OUR INTEREST.\n\n"
                     "-----------------\n2. (C) ROAD MAP\n-----------------\n\nA.  STRAIGHT FORWARD\n---------\n"
                     "-- DISPATCH AN OFFICIAL.\n")
    parsed = layout.parse(body)
    assert [(p.number, p.marking) for p in parsed.paragraphs] == [("1", "C"), ("2", "C")]
    assert "DISPATCH AN OFFICIAL" in parsed.paragraphs[1].text  # a sub-heading inside ¶2 stays in ¶2


def test_a_heading_between_rules_wrapped_in_two_runs_heads_the_next_paragraph():
    body = HEADER + ("1. (C) The report is not conclusive.  End summary.\n\n"
                     "--------------------------------------------- -------------\n"
                     "The Second Report:  More Statistics\n"
                     "--------------------------------------------- -------------\n\n"
                     "2. (U) The report gives results of statistical studies.\n")
    parsed = layout.parse(body)
    assert [(p.number, p.marking, p.section) for p in parsed.paragraphs] == [
        ("1", "C", None), ("2", "U", "The Second Report:  More Statistics")]
    assert parsed.paragraphs[0].text == "The report is not conclusive.  End summary."


def test_marking_goes_to_the_label_and_never_understates():
    one = HEADER + "(S/NF) The counselor demarched the adviser.\n"
    assert labels(one) == [(None, "S/NF")]
    assert layout.parse(one).paragraphs[0].text.startswith("The counselor")
    inner = HEADER + "1. (C) The minister spoke.  (S) He then named the source.\n"
    assert labels(inner) == [("1", "S")]
    assert markings.marking_level("S/NF") > markings.marking_level("C") > markings.marking_level("SBU") > markings.marking_level("U")


def test_an_unmarked_paragraph_among_marked_ones_is_cited_as_the_one_above_it():
    body = HEADER + ("1. (C) The talks went well.\n\n2. (S) The source named the buyer.\n\n3. xxxxxxxxxxxx\n\n"
                     "4. (C) Comment follows.\n\nSMITH\n")
    assert labels(body) == [("1", "C"), ("2", "S"), ("3", "S"), ("4", "C")]
    assert [p.printed_marking for p in layout.parse(body).paragraphs] == ["C", "S", None, "C"]
    unmarked = HEADER.replace("CONFIDENTIAL", "UNCLASSIFIED") + "1. The first point is made.\n\n2. A second one.\n"
    assert labels(unmarked) == [("1", None), ("2", None)]  # a cable that marks nothing keeps no marking


def test_an_unmarked_list_restarting_at_one_stays_in_its_marked_paragraph():
    body = HEADER + ("1. (U) Summary of the note.\n\n2. (SBU) Begin text of the draft:\n\nArticle 1\n\n"
                     "1. Each party shall report.\n\n2. Each party shall consult.\n\nArticle 2\n\n"
                     "1. This agreement enters into force on signature.\n\nEnd text.\n\n3. (C) Comment: a draft.\n")
    parsed = layout.parse(body)
    assert [(p.number, p.marking) for p in parsed.paragraphs] == [("1", "U"), ("2", "SBU"), ("3", "C")]
    assert "shall consult" in parsed.paragraphs[1].text and "enters into force" in parsed.paragraphs[1].text


def test_marking_followed_by_a_colon_or_stop_and_a_marking_closing_the_paragraph():
    punctuated = HEADER + "1. (C): Begin summary.  The cabinet is new.\n\n2. (S/NF).   Summary.  The plan.\n"
    assert labels(punctuated) == [("1", "C"), ("2", "S/NF")]
    assert [p.text[:6] for p in layout.parse(punctuated).paragraphs] == ["Begin ", "Summar"]
    trailing = HEADER + ("THE PRESIDENT GAINED STRENGTH IN THE SIX MONTHS SINCE THE APRIL COUP IN THE CAPITAL.  (C)\n\n"
                         "THE NEW CONSTITUTION WILL PROBABLY STRENGTHEN THE POWERS OF THE PRESIDENCY AGAIN.  (S)\n\n"
                         "THE OUTLOOK FOR THE OPPOSITION PARTIES IN THE NOVEMBER ELECTIONS REMAINS UNCLEAR.\n")
    assert labels(trailing) == [(None, "C"), (None, "S"), (None, None)]


def test_a_marking_before_a_bracket_and_an_unbracketed_entire_text_line():
    bios = HEADER + "17. (U) The cabinet is as follows.\n\n18.  (C)(All Bios): Mr. X is a long time activist.\n"
    assert labels(bios) == [("17", "U"), ("18", "C")]
    whole = ("E.O. 12356: DECL: OADR\nTAGS: PREL XX\nSUBJECT: IRAN\n\n1.  CONFIDENTIAL - ENTIRE TEXT.\n\n"
             "2.  SUMMARY:  A YEAR AFTER THE DEATH, THE LEADERS ARE DIVIDED.\n\n3.  THE MASS POLITICS ARE GONE.\n")
    assert labels(whole) == [("1", "C"), ("2", "C"), ("3", "C")]


def test_paragraph_glued_to_classified_by_is_recovered():
    body = ("CONFIDENTIAL\n\nTAGS: PREL BA\nSUBJECT: A CONFERENCE\n\nClassified By: CDA X for reasons 1.4 (b) and (d). "
            "(SBU) The director confirmed the ambassador will attend the conference.\n")
    parsed = layout.parse(body)
    assert labels(body) == [(None, "SBU")]
    assert parsed.paragraphs[0].text.startswith("The director confirmed")
    assert parsed.fields["classified_by"].endswith("(d).")
    trailing = "CONFIDENTIAL\n\nSUBJECT: X\n\nClassified By: Y for reasons 1.4(b) and (d). (S)\n\nThe envoy delivered points.\n"
    assert labels(trailing) == [(None, "S")]


def test_a_first_paragraph_glued_to_the_ref_or_subject_line_is_recovered():
    numbered = ("CONFIDENTIAL\n\nE.O. 12958: DECL: 01/01/2015\nTAGS: PREL XX\nSUBJECT: A TEST\n\n"
                "REF: A. ROME 12  B. PARIS 7  1. (SBU) The ministry will fund the port.\n\n2. (C) Comment: late.\n")
    assert labels(numbered) == [("1", "SBU"), ("2", "C")]
    assert layout.parse(numbered).fields["ref"].strip() == "A. ROME 12  B. PARIS 7"
    marked = ("UNCLAS\n\nE.O. 12958: N/A\nTAGS: TBIO XX\nSUBJECT: FLU CASE Please handle accordingly. "
              "(SBU) On May 2 the ministry announced a new case.\n")
    assert labels(marked) == [(None, "SBU")]
    assert layout.parse(marked).paragraphs[0].text.startswith("On May 2")


def test_routing_block_printed_at_a_page_break_is_noise():
    body = HEADER + ("1. (C) THE COALITION HAS RISKED\n\nPAGE 02        ZAGREB  00107  02 OF 05  151753Z\n"
                     "ACTION EUR-00\n\nINFO  LOG-00   AID-00   CIAE-00  DODE-00\n      H-01     TEDE-00  INR-00\n"
                     "        /007W\n                  ------------------2605E9  151753Z /45\nP 151544Z JAN 03\n"
                     "FM AMEMBASSY ZAGREB\nTO SECSTATE WASHDC PRIORITY 9208\n\n"
                     "C O N F I D E N T I A L SECTION 02 OF 05 ZAGREB 000107\n\nE.O. 12958: DECL: 01/03/2013\n"
                     "TAGS: PREL, PGOV\nSUBJECT: CROATIA: A MIXED\nREPORT CARD\n\nVIOLATING WTO COMMITMENTS, AS OFFICIALS ADMIT.\n")
    parsed = layout.parse(body)
    text = " ".join(p.text for p in parsed.paragraphs)
    assert labels(body) == [("1", "C")]
    assert "LOG-00" not in text and "SECSTATE" not in text and "REPORT CARD" not in text
    assert text.endswith("VIOLATING WTO COMMITMENTS, AS OFFICIALS ADMIT.")


def test_a_bracketed_word_that_is_no_marking_does_not_hide_the_number():
    body = HEADER + "1. (U.S.) Failed attack\n\nThe papers report.\n\n2. (Iran) New protests\n\nMore.\n\n3. (China) Jailing\n"
    assert [n for n, _ in labels(body)] == ["1", "2", "3"]


def test_a_lost_line_break_inside_a_shorter_line_continues_the_count():
    body = HEADER + ("1. (C) The talks opened.\n2. (C) The minister spoke at length about the plan for the province and\n"
                     "the police.  3. (S) He then named the officers involved.  And 7. (S) is not the next number.\n")
    assert labels(body) == [("1", "C"), ("2", "C"), ("3", "S")]


def test_a_rule_glued_before_a_number_is_cut_off_quickly():
    body = HEADER + "Summary\n-------- 1.  The ambassador visited.\n\n2.  He met the governor.\n"
    assert labels(body) == [("1", None), ("2", None)]
    long_rule = HEADER + "1. (C) Text.\n" + "-" * 5_000 + " x\n"  # no catastrophic backtracking on a long rule
    assert labels(long_rule)[0] == ("1", "C")


def test_first_paragraph_shapes_around_the_header():
    top = "CONFIDENTIAL\n\nE.O. 12958: DECL: 01/01/2015\nTAGS: PREL XX\n"
    # "Classified By:" printed on the REF line, its marking alone at the end: the paragraph below is (C)
    on_ref = top + "SUBJECT: A TEST\n\nREF: STATE 46477  Classified By: Amb. X for reasons 1.4 (b) and (d).  (C)\n\n" \
        "Poloff delivered the points.\n"
    assert labels(on_ref) == [(None, "C")]
    assert split_glued_header(["REF: STATE 46477  Classified By: Amb. X (d).  (C)", "1.  Text"]) == [
        "REF: STATE 46477", "Classified By: Amb. X (d).  (C)", "1.  Text"]  # the field line split in two
    # the first number glued to the end of the SUBJECT line, its text on the next line
    on_subject = top + "SUBJECT: STUDENTS IN U.S. UNIVERSITIES 1.(SBU)\nSUMMARY: Funding grows.\n\n2. (U) More.\n"
    assert labels(on_subject) == [("1", "SBU"), ("2", "U")]
    # a rule glued to "1.(U)" with no space on either side
    ruled = top + "SUBJECT: A TEST\n\nSUMMARY\n-------1.(U) Even before the visit.\n\n2.(U) After it.\n"
    assert labels(ruled) == [("1", "U"), ("2", "U")]
    doubled = top + "SUBJECT: A TEST\n\n1. (C) The post met.\n\n2. (S/NF))  The EAC agreed.\n"
    assert labels(doubled) == [("1", "C"), ("2", "S/NF")] and "))" not in layout.parse(doubled).paragraphs[1].text


def test_windows_are_exact_slices_keeping_closing_quotes_and_brackets():
    text = ('He called them the "Spanish Taliban." As a result the party split. (End note.) Al-Qadhafi spoke. ' * 20).strip()
    parts = windows(text, budget=60, count=lambda t: len(t.split()))
    assert len(parts) > 2
    assert all(p in text for p in parts)
    assert any('Taliban." As' in p for p in parts) and any("(End note.) Al-Qadhafi" in p for p in parts)


# --- the cables the audit named ----------------------------------------------------------------

MARKED_START = re.compile(r"^\s*(\d{1,3})\.\s*\((\s*(?:U|C|S|SBU)(?:/[A-Za-z ,]+)?)\)", re.MULTILINE)


@pytest.fixture(scope="module")
def named(real_cables):
    return {c["id"]: c["body"] for c in real_cables}


@pytest.mark.slow
@pytest.mark.parametrize("ident", ["09ISLAMABAD516", "08STATE107438", "03OTTAWA702", "03RANGOON646", "04TAIPEI3677",
                                   "04LAGOS1207", "04MUMBAI2316", "08REYKJAVIK294", "04DJIBOUTI492"])
def test_every_printed_marked_paragraph_is_its_own_paragraph(named, ident):
    body = named[ident]
    printed = [(n, m.strip()) for n, m in MARKED_START.findall(body)]
    numbers = {n for n, _ in printed}
    got = [(p.number.rstrip("'"), p.marking) for p in layout.parse(body).paragraphs
           if p.number and p.number.rstrip("'") in numbers]
    assert got == printed


@pytest.mark.slow
def test_named_cables_known_answers(named):
    islamabad = {p.number: p.marking for p in layout.parse(named["09ISLAMABAD516"]).paragraphs}
    assert len(islamabad) == 18 and islamabad["14"] == islamabad["15"] == "S" and islamabad["1"] == "C"
    assert labels(named["04DJIBOUTI492"])[-2:] == [("3", "U"), ("3'", "C")]
    assert labels(named["01KINSHASA810"])[:2] == [("1", "C"), ("2", "C")]
    cairo = [n for n, _ in labels(named["10CAIRO209"])]
    assert len(cairo) == len(set(cairo)) > 20
    assert labels(named["04WELLINGTON652"]) == [(None, "C")]
    assert labels(named["10LONDON42"]) == [(None, "S/NF")]
    for ident in ("08MANAMA401", "07MANAMA1060", "08MANAMA126", "08MANAMA473", "08LONDON1988", "08LONDON2218",
                  "08LONDON2689", "09CAIRO1229"):
        parsed = layout.parse(named[ident])
        assert len(parsed.paragraphs) == 1 and parsed.paragraphs[0].marking and len(parsed.paragraphs[0].text) > 100, ident
    for ident in ("03ZAGREB107", "92ZAGREB2522", "08VILNIUS668"):
        text = " ".join(p.text for p in layout.parse(named[ident]).paragraphs)
        assert not re.search(r"\b(?:LOG|EUR|AID)-00\b|\bACTION [A-Z]+-\d\d", text), ident


@pytest.mark.slow
@pytest.mark.parametrize("ident,passage", [("06MADRID2657", 'Taliban." As'), ("09TRIPOLI134", "End note.)")])
def test_windows_of_named_cables_are_slices_of_their_paragraphs(named, ident, passage):
    parsed, chunks = chunk_cable(as_cable(ident, named[ident]), budget=100)
    paragraphs = {p.ordinal: p.text for p in parsed.paragraphs}
    assert any(c.window for c in chunks)
    assert all(c.text in paragraphs[c.ordinal] for c in chunks)
    assert any(passage in c.text for c in chunks)
