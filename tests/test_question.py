"""The question read once, and the table of number words, scales and units figures are read with."""
from __future__ import annotations

from kb.answer.question import Question
from kb.figures import UNITS, has_number, numbers


def test_a_question_is_read_once_into_what_every_step_needs():
    q = Question.parse("Combien de tonnes de CO2 l'entraînement de BLOOM a-t-il émis selon Data For Good ?")
    assert q.language == "fr" and q.names == ("BLOOM", "Data", "Good")
    assert {"tonn", "bloom"} <= q.own and "combien" not in q.words and "bloom" in q.words
    assert Question.parse("In which year was the Spanish market doing badly?").language == "en"


def test_scales_come_from_the_table():
    assert UNITS["scales"]["milliards"] == 9 and UNITS["attached_scales"]["B"] == 9
    (forms, scale, raw), = numbers("plus de 14 milliards de vues")
    assert scale == "e9" and raw == "14 milliards" and "14" in forms
    assert has_number(numbers("14 billion")[0], numbers("14 milliards")) and not has_number(numbers("14 millions")[0], numbers("14 milliards"))
    assert numbers("176B parameters")[0][1] == "e9" and numbers("176b parameters")[0][1] is None  # attached: capitals only
