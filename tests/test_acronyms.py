"""Known answers for the acronyms a cable defines and the text the model embeds with them spelled out."""

from cableqa.acronyms import definitions, glossary, spell_out
from cableqa.chunks import cable_terms, embedding_input


def test_definitions_match_initials_across_linking_words():
    assert definitions("the Ministry of Foreign Affairs (MFA) said") == [("MFA", "Ministry of Foreign Affairs")]
    assert definitions("THE GOVERNMENT OF SUDAN (GOS) AND THE KHMER ROUGE (KR)") == [
        ("GOS", "GOVERNMENT OF SUDAN"), ("KR", "KHMER ROUGE")]
    assert definitions("a Memorandum of Understanding (MoU) and Basic People's Congresses (BPCs)") == [
        ("MoU", "Memorandum of Understanding"), ("BPCs", "Basic People's Congresses")]


def test_not_a_definition():
    assert definitions("met the board (XYZ) today") == []  # initials do not spell it
    assert definitions("reasons 1.4 (B) and (D)") == []  # one letter
    assert definitions("the Embassy (EMBASSY) said") == []  # the word itself, not an acronym


def test_spell_out_leaves_the_definition_and_longer_tokens_alone():
    terms = {"HIB": "Housing and Infrastructure Board"}
    text = "Libya's Housing and Infrastructure Board (HIB) hired staff. The HIB chairman, not HIB-owned firms, spoke."
    assert spell_out(text, terms) == ("Libya's Housing and Infrastructure Board (HIB) hired staff. The Housing and "
                                      "Infrastructure Board chairman, not HIB-owned firms, spoke.")
    assert spell_out("HIBS and THIB", terms) == "HIBS and THIB"


def test_glossary_skips_acronyms_that_are_words():
    texts = ["THE TRANSATLANTIC EXPERT ADVISORY MISSION (TEAM) ARRIVED. IT WORKED WITH THE FOREIGN MINISTRY (FM).",
             "Information Technology (IT) budgets grew.", "The team met the FM."]
    assert glossary(texts, frozenset({"it"})) == {"FM": "FOREIGN MINISTRY"}  # "team" is written as a word too


def test_embedded_text_spells_out_what_the_cable_defines():
    terms = cable_terms("LIBYA: HOUSING AND INFRASTRUCTURE BOARD (HIB) CONTRACTS",
                        ["AECOM signed with the HIB.", "The riqaba reviews every HIB contract."])
    assert terms == {"HIB": "HOUSING AND INFRASTRUCTURE BOARD"}
    assert embedding_input("Embassy Tripoli, 2009", "The riqaba reviews every HIB contract.", terms)[0] == (
        "Embassy Tripoli, 2009\nThe riqaba reviews every HOUSING AND INFRASTRUCTURE BOARD contract.")
    assert embedding_input("Embassy Tripoli, 2009", "No acronym here.", {})[0] == "Embassy Tripoli, 2009\nNo acronym here."
