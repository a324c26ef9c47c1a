"""Chunking: one chunk per printed paragraph, windows for long ones, context kept apart from the text."""

from cableqa import chunks, text
from cableqa.cables import Report, read_paths

from conftest import SEED


def words(text):
    return text.split()


def test_seed_nine_chunks_numbered_as_printed():
    (cable,) = list(read_paths([SEED], Report()))
    parsed, out = chunks.chunk_cable(cable, 256, count=lambda t: len(t.split()))
    assert [c.para for c in out] == [str(i) for i in range(1, 10)]
    assert [c.id for c in out][:3] == ["05ALMATY4281#1", "05ALMATY4281#2", "05ALMATY4281#3"]
    assert all(c.marking == "C" and c.window == 0 for c in out)
    assert text.citation("05ALMATY4281", "3", 3, "C") == "05ALMATY4281 ¶3 (C)"


def test_long_paragraph_windows_overlap_and_keep_number():
    sentences = [f"Sentence number {i} says something about topic {i} in some detail." for i in range(60)]
    text = " ".join(sentences)
    parts = chunks.windows(text, budget=100, count=lambda t: len(t.split()))
    assert len(parts) > 1
    assert all(len(p.split()) <= 100 for p in parts)
    assert all(p in text for p in parts)  # the cable's own words, in order
    # consecutive windows share whole sentences, and together cover every sentence
    assert any(s in parts[0] and s in parts[1] for s in sentences)
    assert all(any(s in p for p in parts) for s in sentences)


def test_a_single_overlong_sentence_is_cut_between_words():
    text = "word " * 1000
    parts = chunks.windows(text.strip(), budget=100, count=lambda t: len(t.split()))
    assert all(len(p.split()) <= 100 for p in parts)
    assert sum(len(p.split()) for p in parts) >= 1000


def test_context_and_dates():
    (cable,) = list(read_paths([SEED], Report()))
    ctx = chunks.context(cable, "Background")
    assert ctx == ("KAZAKHSTAN: RUMORS OF ELECTION-RELATED VIOLENCE SPARK PUBLIC ANXIETY. "
                   "US Office Almaty, December 2, 2005. Background")
    assert chunks.date_words("not a date") == ""
