"""Known answers for the retrieval priors' text tests (no model, no index)."""

from cableqa.retrieval import asked_clause, names_in, new_topic

ALMATY = ("Who did Kazakhstan's Security Council Secretary suspect of planning post-election violence? "
          "Utemuratov told the Ambassador that the opposition planned provocations in Almaty.")


def test_a_question_that_points_back_continues_the_conversation():
    assert not new_topic("And what did the Interior Minister tell the Ambassador?", lambda: ALMATY)
    assert not new_topic("Did he say who paid for it in Testville?", lambda: ALMATY)  # "he", "it": a follow-up
    assert not new_topic("Has the new minister ever been linked to graft?", lambda: ALMATY)


def test_a_question_naming_only_what_was_said_continues_the_conversation():
    assert not new_topic("Why was Utemuratov worried about Almaty?", lambda: ALMATY)
    assert not new_topic("what was planned for election day?", lambda: ALMATY)  # no names: nothing says it is new


def test_a_question_about_something_never_mentioned_starts_afresh():
    assert new_topic("What did the harbour master say about the image and the port of Testville?", lambda: ALMATY)
    assert new_topic("How did Bogota's mayor plan to pay for social spending?", lambda: ALMATY)


def test_names_in_counts_unknown_capitalised_words_the_question_lacks():
    known = {"the", "ambassador", "told", "that", "opposition", "planned", "provocations", "in"}.__contains__
    assert names_in("Utemuratov told the Ambassador about Almaty.", "Who told the Ambassador?", known) == 2  # not the known "Ambassador"
    assert names_in("Utemuratov told the Ambassador.", "What did Utemuratov say?", known) == 0


def test_countries_named_by_name_people_and_phrase():
    from cableqa.countries import named_in

    assert named_in("Which party in Slovakia's governing coalition?") == {"LO"}
    assert named_in("What did the Slovak and Slovenian ministers say?") == {"LO", "SI"}
    assert named_in("Why might Sweden's foreign minister resist sanctions?") == {"SW"}
    assert named_in("What did Swedish officials say about Iraqi oil?") == {"SW", "IZ"}
    assert named_in("How many South Africans cheated the welfare system?") == {"SF"}
    assert named_in("Austrian or Australian troops? Nigerian or Nigerien?") == {"AU", "AS", "NI", "NG"}
    assert named_in("The Bolivarian revolution's children in Chile") == {"CI"}  # not Bolivia; "children" is no Chile
    assert named_in("What did the US ambassador tell the minister?") == set()  # every cable is about the US


def test_asked_clause_follows_a_lead_that_sets_the_scene():
    assert asked_clause("After Sudanese officials promised stricter review in 1991, what changed in how the "
                        "security services held detainees?") == "what changed in how the security services held detainees?"
    assert asked_clause("According to a contact of the embassy in Tripoli, how has the committee become a vehicle "
                        "for graft?") == "how has the committee become a vehicle for graft?"
    assert asked_clause("When Saleh suggested in April 2003 that US staff leave the Sheraton, did he point to a "
                        "threat?") == "did he point to a threat?"


def test_asked_clause_is_none_without_a_scene():
    assert asked_clause("Why did the EU refuse to send observers to the August 2004 referendum?") is None
    assert asked_clause("In November 2004, what did Chavez say was the main enemy?") is None  # a time: the time prior's
    assert asked_clause("On April 10, 2004, where did the crowds converge?") is None
    assert asked_clause("What explanation, attributed to NIF sources, did some give for the release?") is None
    assert asked_clause("What did he say, and why?") is None
