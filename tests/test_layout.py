"""Known-answer tests of the cable layout parser on the seed and on the formatting quirks of real cables."""

from cableqa import header, layout
from cableqa.cables import Report, read_paths

from conftest import SEED


def seed_layout():
    (cable,) = list(read_paths([SEED], Report()))
    return cable, layout.parse(cable.body)


def test_seed_paragraphs_numbered_and_marked():
    _, parsed = seed_layout()
    assert [p.number for p in parsed.paragraphs] == [str(i) for i in range(1, 10)]
    assert {p.marking for p in parsed.paragraphs} == {"C"}
    assert parsed.paragraphs[0].text.startswith("Summary:  A series of ill-advised public statements")
    assert parsed.paragraphs[8].text.endswith("every opportunity to urge restraint and to promote dialogue.")


def test_seed_header_becomes_metadata():
    _, parsed = seed_layout()
    assert parsed.fields["subject"] == "KAZAKHSTAN: RUMORS OF ELECTION-RELATED VIOLENCE SPARK PUBLIC ANXIETY"
    assert parsed.fields["tags"] == "PGOV, PREL, KZ, 2005 Election"
    assert parsed.fields["ref"] == "ALMATY 4144"
    assert parsed.fields["classified_by"].startswith("DCM Mark Asquino")
    assert parsed.fields["eo"].startswith("E.O. 12958: DECL: 12/02/2015")
    assert parsed.signature == "ORDWAY"
    assert "SIPDIS" in parsed.noise


def test_seed_paragraph_2_reads_on_across_sipdis():
    _, parsed = seed_layout()
    p2 = parsed.paragraphs[1].text
    assert "the Secretary of the Security Council, and the Procurator General, urging them" in p2
    assert "SIPDIS" not in p2 and "\n" not in p2


def test_seed_paragraph_8_reads_on_across_stray_blank_line():
    _, parsed = seed_layout()
    assert "an anonymous MVD source that the death would be ruled a suicide" in parsed.paragraphs[7].text


def test_no_chunk_text_has_boilerplate():
    _, parsed = seed_layout()
    text = " ".join(p.text for p in parsed.paragraphs)
    for noise in ("C O N F I D E N T I A L", "E.O. 12958", "TAGS:", "Classified By", "ORDWAY"):
        assert noise not in text


def test_page_banners_and_repeated_banners_removed():
    body = ("UNCLASSIFIED\nPAGE 01        ZAGREB  01189  01 OF 05  061107Z\n\nSUBJECT: TEST\n\n"
            "1. THE MINISTER SAID THE\nPAGE 02        ZAGREB  01189  01 OF 05  061107Z\nUNCLASSIFIED\n"
            "TALKS WOULD GO ON.\n\n2. (U) SECOND PARAGRAPH.\n")
    parsed = layout.parse(body)
    assert [p.text for p in parsed.paragraphs] == ["THE MINISTER SAID THE TALKS WOULD GO ON.", "SECOND PARAGRAPH."]


def test_later_page_banners_and_line_separators_removed():
    """2006+ cables break pages with "BERLIN 00001767 003 OF 003" between blank lines, mid-sentence
    ("... 006.2 OF 007" where the release split a page); some bodies break lines with U+2028."""
    body = ("UNCLAS BERLIN 001767\n\nSUBJECT: TEST\n\n1. (C) All three of the suspects arrested\n\n"
            "BERLIN 00001767  003 OF 003\n\n\nSeptember 4 are believed to have trained abroad.\n\n"
            "2. (U) The\u2028\u2028MEXICO 00002220 004 OF 008\u2028\u2028\u2028report ends.\n\n"
            "3. (U) Post has identified the BRASILIA 00000310 006.2 OF 007 following areas.\n")
    parsed = layout.parse(body)
    texts = [p.text for p in parsed.paragraphs]
    assert texts == ["All three of the suspects arrested September 4 are believed to have trained abroad.",
                     "The report ends.", "Post has identified the following areas."]
    assert "BERLIN 00001767  003 OF 003" in parsed.noise and "MEXICO 00002220 004 OF 008" in parsed.noise
    assert "BRASILIA 00000310 006.2 OF 007" in parsed.noise


def test_paragraph_one_right_under_a_header_field_is_not_swallowed():
    """87ALEXANDRIA290, 02ROME1196: no blank line between REF / Classified By and ¶1."""
    for header in ("REF:  ALEXANDRIA 00289", "CLASSIFIED BY: POL MINCOUNS THOMAS COUNTRYMAN, REASONS 1.5 (B) AND (D)."):
        body = f"CONFIDENTIAL\n\nSUBJECT: TEST\n\n{header}\n1.  (C) THE MINISTER SAID THE TALKS\nWOULD GO ON.\n"
        parsed = layout.parse(body)
        assert parsed.paragraphs[0].number == "1" and parsed.paragraphs[0].marking == "C"
        assert parsed.paragraphs[0].text.startswith("THE MINISTER SAID THE TALKS WOULD GO ON.")
        assert header.split(":")[1].strip().split()[0] in " ".join(parsed.fields.values())
    # a numbered reference list under REF stays in the header
    parsed = layout.parse("UNCLAS\n\nSUBJECT: TEST\n\nREF: A. STATE 1234\nB. ROME 456\n\n1. (U) TEXT OF THE CABLE HERE.\n")
    assert [p.text for p in parsed.paragraphs] == ["TEXT OF THE CABLE HERE."]


def test_body_without_line_breaks_is_not_swallowed_by_the_header():
    """08TRIPOLI530, 10LONDON92, 08BAKU761: the release lost the line breaks after the header, so one
    header line held the whole cable; 06BUENOSAIRES2711: the unwrapped body follows TAGS directly."""
    text = " ".join(["The minister said the talks would go on."] * 30)
    body = ("CONFIDENTIAL\n\nTAGS: PGOV LY\nSUBJECT: GLUED BODY\n\nCLASSIFIED BY: Chris Stevens, CDA. REASON: 1.4 "
            f"(b), (d)  1.  (C)  Summary: {text}  2. (C) Second: {text} 1.4 percent.\n")
    parsed = layout.parse(body)
    assert [(p.number, p.marking) for p in parsed.paragraphs] == [("1", "C"), ("2", "C")]
    assert parsed.paragraphs[0].text.startswith("Summary: The minister")
    assert parsed.paragraphs[1].text.endswith("1.4 percent.")
    assert parsed.fields["classified_by"] == "Chris Stevens, CDA. REASON: 1.4 (b), (d)"
    # one space, or none, before the number; or no numbers at all, only a marking
    for glue, marking in ((" 1. (S) ", "S"), (" 1.(S) ", "S"), (". (SBU) ", None)):
        parsed = layout.parse(f"SUBJECT: X\n\nClassified By: Ambassador, reason 1.4 (b){glue}{text}\n")
        # the marking goes to the label, numbered or not (issue 21)
        assert len(parsed.paragraphs) == 1 and parsed.paragraphs[0].text.startswith("The minister")
        assert parsed.paragraphs[0].marking == (marking or "SBU")
        assert parsed.fields["classified_by"].startswith("Ambassador, reason 1.4 (b)")
    parsed = layout.parse(f"SUBJECT: X\nTAGS: MARR AR\n{text}\n")
    assert parsed.fields["tags"] == "MARR AR" and parsed.paragraphs[0].text == text


def test_raw_csv_row_line_escapes_are_line_breaks():
    """08BERN612 and 59 more: the raw cables.csv row escapes every line break with a backslash."""
    body = ("SUBJECT: X \\\n \\\nClassified By: AMB. FOR REASON 1.4 (b) \\\n \\\n"
            "(U) As I approach the end of my two and one-half year \\\ntenure in Bern, I would like to share "
            "a few thoughts. \\\n \\\n(U) Special thanks to our staff. \\\n")
    parsed = layout.parse(body)
    assert [p.text for p in parsed.paragraphs] == [
        "As I approach the end of my two and one-half year tenure in Bern, I would like to share a few thoughts.",
        "Special thanks to our staff."]
    assert [p.marking for p in parsed.paragraphs] == ["U", "U"]


def test_unnumbered_cable_splits_on_blank_lines():
    body = ("SUBJECT: NOTHING NUMBERED\n \nThe first block of text has enough words to stand alone as a paragraph.\n"
            " \nThe second block also has enough words in it to be a paragraph of its own.\n")
    parsed = layout.parse(body)
    assert [p.number for p in parsed.paragraphs] == [None, None]
    assert parsed.paragraphs[1].text.startswith("The second block")


def test_sub_list_numbers_stay_inside_their_paragraph():
    body = ("SUBJECT: X\n\n1. (C) The minister listed three points:\n\n1. TAXES\n\n2. TRADE\n\n"
            "2. (C) Next paragraph here.\n")
    parsed = layout.parse(body)
    assert [p.number for p in parsed.paragraphs] == ["1", "2"]
    assert "TAXES" in parsed.paragraphs[0].text and "TRADE" in parsed.paragraphs[0].text


def test_marking_variants_and_headings():
    body = ("SUBJECT: X\n\nSummary\n-------\n1.  (S/NF) Secret summary text.\n\nTHE DETAILS\n-----------\n\n"
            "2.(SBU) Details text.\n\n3. Unmarked text.\n")
    parsed = layout.parse(body)
    # ¶3 prints no marking: in a cable whose paragraphs print theirs it is cited as the one above it
    assert [(p.number, p.marking, p.printed_marking, p.section) for p in parsed.paragraphs] == [
        ("1", "S/NF", "S/NF", "Summary"), ("2", "SBU", "SBU", "THE DETAILS"), ("3", "SBU", None, "THE DETAILS")]


def test_glued_media_header_is_split():
    body = ("S E C R E T TEL AVIV 000687SIPDISE.O. 12958: DECL: 02/15/2016TAGS: ECON KWBG SUBJECT: GLUED\n\n"
            "1. (S) Body text.\n")
    parsed = layout.parse(body)
    assert parsed.fields["subject"] == "GLUED"
    assert [p.text for p in parsed.paragraphs] == ["Body text."]


def test_unnumbered_paragraph_after_ref_is_content_not_header():
    # shapes of 07MANAMA986 and 03GUATEMALA1277, whose only paragraph the header used to swallow
    marked = ("UNCLAS MANAMA 000986\n\nE.O. 12958: N/A\nTAGS: PGOV BA\nSUBJECT: DONORS\n\nREF: STATE 148406\n\n"
              "(U) PolOffs delivered reftel points to the MFA on October 30. Darwish believed Bahrain had sent a "
              "representative to the donors conference in Khartoum.\n")
    parsed = layout.parse(marked)
    assert parsed.fields["ref"] == "STATE 148406"
    assert [(p.marking, p.text[:23]) for p in parsed.paragraphs] == [("U", "PolOffs delivered refte")]
    wrapped = ("UNCLAS GUATEMALA 001277\n\nTAGS: PHUM, GT\nSUBJECT: RATIFIED\n\nREF: STATE 126276\n\n"
               "Guatemala has ratified all three conventions mentioned\nreftel.  The Optional Protocol was signed.\n")
    parsed = layout.parse(wrapped)
    assert parsed.fields["ref"] == "STATE 126276"
    assert [p.text for p in parsed.paragraphs] == [
        "Guatemala has ratified all three conventions mentioned reftel.  The Optional Protocol was signed."]


def test_ref_list_continued_in_its_own_block_stays_header():
    body = "TAGS: PREL\nSUBJECT: S\nREF: A) STATE 1\n\nB) Reykjavik 139 and previous\n\n1. (C) Body text.\n"
    parsed = layout.parse(body)
    assert parsed.fields["preamble"] == "B) Reykjavik 139 and previous"
    assert [p.text for p in parsed.paragraphs] == ["Body text."]


def test_reference_ids():
    assert header.reference_ids("A. ALMATY 4144 B. 04 STATE 12345", "05") == ["05ALMATY4144", "04STATE12345"]
    assert header.reference_ids("SAN JOSE 0077", "09") == ["09SANJOSE77"]


def test_parse_never_raises_on_odd_text():
    for body in ["", "\n\n\n", "1.", "1. (C)", "SIPDIS", "PAGE 02", "-----", "\x00\x01", "1. (C) x\n" * 500]:
        layout.parse(body)
