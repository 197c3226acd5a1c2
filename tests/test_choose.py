"""The choose design with the fake generator: numbered candidates, the model's pick read from its probabilities,
the answer verified by exact quote, the chosen sentence quoted when verification fails, abstention."""
from __future__ import annotations

import numpy as np
import pytest

from kb import audit, choose
from kb.answer import ABSTAIN, Answerer
from kb.energy import FakeMeter
from kb.generator import FakeGenerator
from kb.knowledge import Hit
from kb.store import Passage
from kb.verify import figures, problems, quote, values

QUESTION = "Combien de vues compte la vidéo Baby shark sur YouTube ?"


def passage(row: int, text: str, speaker: str | None = None) -> Passage:
    return Passage(row, f"p{row}", "doc", "Doc", None, (row, row), None, speaker, text, text)


def test_candidates_are_the_closest_sentences_in_reading_order():
    hits = [Hit(passage(1, "Alpha one. Beta two. Gamma three."), 1.0), Hit(passage(2, "Delta four. Epsilon five."), 0.5)]
    wanted = {"Gamma three.": 0.9, "Alpha one.": 0.8, "Epsilon five.": 0.7, "Beta two.": 0.1, "Delta four.": 0.0}
    embed = lambda texts: np.array([[wanted[t]] for t in texts])  # noqa: E731
    found = choose.candidates(hits, np.array([1.0]), embed, n=3)
    assert [(c.n, c.text, c.passage.row) for c in found] == [(1, "Alpha one.", 1), (2, "Gamma three.", 1), (3, "Epsilon five.", 2)]
    assert choose.labels(found) == ["0", "1", "2", "3"]


def test_a_long_sentence_is_split_at_its_clauses():
    sentence = ", ".join(f"clause {i} " + "word " * 9 for i in range(8)).strip()
    pieces = choose.parts(sentence, size=25)
    assert len(pieces) > 1 and all(len(p.split()) <= 25 for p in pieces) and " ".join(pieces).split() == sentence.split()


@pytest.mark.parametrize("probabilities, expected", [
    ({"0": 0.1, "1": 0.7, "2": 0.2}, 1),
    ({"0": 0.5, "1": 0.4, "2": 0.1}, 0),  # "none" likelier
    ({"0": 0.05, "1": 0.25, "2": 0.24, "3": 0.23, "4": 0.23}, 0),  # no number stands out
    ({}, 0),
])
def test_the_choice_is_the_likeliest_number_above_the_threshold(probabilities, expected):
    assert choose.decide(probabilities, threshold=0.3)[0] == expected


@pytest.mark.parametrize("reply, expected", [
    ("Sentence [3]: It has 14 billion views.", (3, "It has 14 billion views.")),
    ("3: It has 14 billion views.", (3, "It has 14 billion views.")),
    ("It has 14 billion views [2].", (2, "It has 14 billion views.")),
    ("NOT IN SOURCES", (None, "NOT IN SOURCES")),
    ("Sentence [5]: None of these sentences answers the question [5].", (0, "None of these sentences answers the question.")),
])
def test_the_reply_gives_its_number_and_answer(reply, expected):
    assert choose.parse(reply) == expected


@pytest.mark.parametrize("figure, meanings", [
    ("256,646", {256646.0, 256.646}), ("9,3", {9.3}), ("1 106", {1106.0}), ("0.3", {0.3}), ("1/3", {round(1 / 3, 6)}),
    ("1,234.5", {1234.5}),
])
def test_figures_are_read_in_both_notations(figure, meanings):
    assert values(figure) == meanings


def test_figures_carry_their_unit_and_number_words_count():
    assert [(f, u) for f, _, u in figures("de 27 % à 52 % en 2010, 70 GWh, 1,1 milliard")] == [
        ("27", "percent"), ("52", "percent"), ("2010", None), ("70", "gwh"), ("1,1", "billion")]
    assert any(v == {3.0} for _, v, _ in figures("On peut en déterminer au moins trois."))


@pytest.mark.parametrize("answer, same_language, found", [
    ("It added 256,646 kWh [1].", True, []),
    ("Il a ajouté 256 646 kWh.", False, []),  # another notation, another language
    ("It added 256,646 MWh.", True, ["the figure 256,646 mwh is not in the sentence", "the name MWh is not in the sentence"]),
    ("It added 265,646 kWh.", True, ["the figure 265,646 kwh is not in the sentence"]),
    ("It emitted 14.6 tonnes of CO2eq.", True, []),
    ("BLOOM emitted 14.6 tonnes, said Luccioni.", True, ["the name Luccioni is not in the sentence"]),
    ("BLOOM émet 14,6 tonnes selon Luccioni.", False, []),  # across languages only identifiers are compared
    ("GPT-4 emitted 14.6 tonnes.", False, ["the name GPT-4 is not in the sentence"]),
    ("It said “the remaining 46% keeps the nodes on”.", True, ["the figure 46 percent is not in the sentence",
                                                          "the quotation “the remaining 46% keeps the nodes on” is not in the sentence"]),
])
def test_verification_by_exact_quote(answer, same_language, found):
    sentence = "This adds a further 256,646 kWh of idle power consumption and 14.6 tonnes of CO2eq to BLOOM's footprint."
    assert problems(answer, [sentence], "How much idle power did BLOOM use?", same_language) == found


def test_scale_words_translate_and_must_match():
    sentence = ["malgré l’ajout de 1,1 milliard d’utilisateurs supplémentaires"]
    assert problems("Despite 1.1 billion more users.", sentence, "q", False) == []
    assert problems("Despite 1.1 million more users.", sentence, "q", False) == ["the figure 1.1 million is not in the sentence"]


def test_a_quote_takes_the_marks_of_the_question_language():
    assert quote("« Baby shark c’est 14 milliards de vues. »", "fr") == "« Baby shark c’est 14 milliards de vues. »"
    assert quote("Baby shark has 14 billion views.", "en") == "“Baby shark has 14 billion views.”"


def answerer(kb, reply, tmp_path, choice=None) -> Answerer:
    return Answerer(kb, FakeGenerator(reply, choice=choice), FakeMeter(36.0), audit.connect(tmp_path / "home"), cache=False, design="choose")


def sentence_with(messages: list[dict], needle: str) -> tuple[int, str]:
    for line in messages[-1]["content"].splitlines():
        if line.startswith("[") and needle in line:
            return int(line[1 : line.index("]")]), line.split(") ", 1)[1]
    raise AssertionError(f"no candidate holds {needle!r}")


def test_a_verified_answer_cites_the_chosen_sentence(kb, tmp_path):
    def reply(messages):
        n, _ = sentence_with(messages, "14 millards")
        return f"Sentence [{n}]: La vidéo Baby shark compte plus de 14 millards de vues."
    record = answerer(kb, reply, tmp_path).ask(QUESTION)
    assert record["mode"] == "generated" and not record["abstained"] and "14 millards" in record["answer"]
    [citation] = record["citations"]
    assert "14 millards" in citation["sentence"] and citation["sentence"] in " ".join(citation["text"].split())
    assert record["choice"]["chosen"] == citation["n"] and record["choice"]["probability"] == 1.0
    assert record["settings"]["design"] == "choose" and record["settings"]["threshold"] == choose.THRESHOLD
    assert audit.get(audit.connect(tmp_path / "home"), record["id"])["choice"] == record["choice"]


def test_a_figure_not_in_the_chosen_sentence_shows_the_sentence_itself(kb, tmp_path):
    def reply(messages):
        n, _ = sentence_with(messages, "14 millards")
        return f"Sentence [{n}]: La vidéo Baby shark compte 41 milliards de vues."
    record = answerer(kb, reply, tmp_path).ask(QUESTION)
    assert record["mode"] == "quoted" and record["answer"].startswith("« ") and "14 millards" in record["answer"]
    assert "41" not in record["answer"] and record["choice"]["problems"]


def test_the_model_choosing_none_or_hesitating_is_the_abstention(kb, tmp_path):
    record = answerer(kb, lambda m: "Sentence [0]", tmp_path).ask(QUESTION)
    assert record["abstained"] and record["answer"] == ABSTAIN["fr"] and not record["citations"]
    flat = lambda messages, labels, text: {label: 1 / len(labels) for label in labels}  # noqa: E731
    record = answerer(kb, lambda m: "Sentence [1]: Une réponse.", tmp_path, choice=flat).ask(QUESTION)
    assert record["abstained"] and record["abstain_reason"] == "the model chose no sentence as the answer"


def test_an_answer_in_another_language_is_replaced_by_the_quote(kb, tmp_path):
    def reply(messages):
        n, _ = sentence_with(messages, "14 millards")
        return f"Sentence [{n}]: The Baby shark video has more than 14 billion views."
    record = answerer(kb, reply, tmp_path).ask(QUESTION)
    assert record["mode"] == "quoted" and "the answer is not in the question's language" in record["choice"]["problems"]


def test_a_repeated_question_gets_the_stored_choice_again(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    answerer = Answerer(kb, FakeGenerator(lambda m: "Sentence [1]: " + sentence_with(m, "[1]")[1]), FakeMeter(), log, design="choose")
    first, again = answerer.ask(QUESTION), answerer.ask(QUESTION)
    assert again["cached"] and again["cached_from"] == first["id"] and again["choice"] == first["choice"] and again["answer"] == first["answer"]
