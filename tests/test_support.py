"""The sentence-by-sentence support check: numbers with their scale, names, quotations, wrong brackets."""
from __future__ import annotations

import pytest

from kb.answer.context import MAX_SENTENCE_WORDS, Source, select, split_sentences, trim
from kb.answer.question import Question
from tests.conftest import unit_asked
from kb.figures import numbers
from kb.names import names
from kb.store import Passage
from kb.answer.verify import check, complete_part, is_refusal, quotations, split


def passage(text: str, pid: str = "p1", speaker: str | None = None) -> Passage:
    return Passage(0, pid, "panel-summary", "Résumé du panel", None, (1, 3), "Section", speaker, text, text)


SHARK = passage("« Baby shark » sur Youtube, c’est plus de 14 milliards de vues.", "shark", "Xavier Marichal")
IEA = passage("When comparing a typical Google search (0.3 Wh of electricity) to OpenAI’s ChatGPT (2.9 Wh per request).", "iea")
SOURCES = [Source(1, SHARK, (SHARK.text,)), Source(2, IEA, (IEA.text,))]


def close(text, others):
    """A stand-in for the embedder's closeness in meaning: every sentence is close to its source."""
    return 0.9


def test_split_keeps_each_sentence_with_its_brackets():
    assert split("Une requête ChatGPT consomme 2,9 Wh [2]. Une recherche 0,3 Wh [2, 1].") == [
        ("Une requête ChatGPT consomme 2,9 Wh.", [2]),
        ("Une recherche 0,3 Wh.", [2, 1]),
    ]


def test_numbers_keep_their_scale_and_forms():
    (forms, scale, raw), = numbers("14 milliards")
    assert forms == {"14"} and scale == "e9" and raw == "14 milliards"
    assert numbers("2,9 Wh")[0][0] == {"2.9", "29"}
    assert numbers("10 000 GPUs")[0][0] == {"10000"}
    assert numbers("14 billion")[0][1] == numbers("14 milliards")[0][1]


def test_a_wrong_scale_is_unsupported():
    bad, = check("Baby shark a été vue 14 millions de fois [1].", SOURCES)
    assert not bad.supported and any("14 millions" in p for p in bad.problems)
    good, = check("Baby shark a été vue plus de 14 milliards de fois [1].", SOURCES)
    assert good.supported and good.citations == [1]


def test_a_bracket_pointing_to_the_wrong_source_is_corrected():
    sentence, = check("Une requête ChatGPT consomme 2,9 Wh [1].", SOURCES, similar=close, least=0.8)
    assert sentence.supported and sentence.claimed == [1] and sentence.citations == [2]


def test_a_number_in_no_source_is_unsupported_whatever_the_bracket():
    sentence, = check("Une requête ChatGPT consomme 3,4 Wh [2].", SOURCES)
    assert not sentence.supported and sentence.citations == []


def test_a_name_in_no_source_is_unsupported():
    assert names("Selon Fabrice Brion, ChatGPT-generated plans") == ["Fabrice", "Brion", "ChatGPT"]
    sentence, = check("Fabrice Brion dit que Baby shark a plus de 14 milliards de vues [1].", SOURCES)
    assert not sentence.supported and any("Brion" in p for p in sentence.problems)
    # The passage's speaker counts: Xavier Marichal said it.
    sentence, = check("Xavier Marichal dit que Baby shark a plus de 14 milliards de vues [1].", SOURCES)
    assert sentence.supported


def test_a_name_written_with_an_apostrophe_is_found_as_the_source_writes_it():
    said = [Source(1, passage("Dom: One of the key gaps that I’m hearing is around the model exchange, says O’Neil."), ("",))]
    assert check("One of the key gaps that I'm hearing is around the model exchange [1].", said)[0].supported
    assert check("O'Neil says one of the key gaps is around the model exchange [1].", said)[0].supported
    assert not check("O'Brien says one of the key gaps is around the model exchange [1].", said)[0].supported


def test_quotations_must_be_verbatim():
    assert quotations('il dit « trois mots ici » et "deux mots" puis "quatre mots en tout"') == ["trois mots ici", "quatre mots en tout"]
    sentence, = check("Il parle de « Baby shark sur Dailymotion » [1].", SOURCES)
    assert not sentence.supported


def test_a_sentence_sharing_too_few_words_is_unsupported():
    sentence, = check("Les panélistes recommandent la sobriété numérique et la régulation européenne [1].", SOURCES)
    assert not sentence.supported


def test_refusal_marker():
    assert is_refusal("NOT IN SOURCES") and is_refusal(" not in sources.") and not is_refusal("Non, 2,9 Wh [1].")


def test_context_takes_the_sentences_that_share_the_question_words():
    long = passage("Le rapport parle de beaucoup de choses. Une requête ChatGPT consomme 2,9 Wh. Le reste est sans rapport avec la question.")
    source, = select(Question.parse("Combien consomme une requête ChatGPT ?"), [long])
    assert source.sentences[0] == "Une requête ChatGPT consomme 2,9 Wh." and source.n == 1
    assert "[1] (Résumé du panel)" in source.prompt_line()
    assert split_sentences("a. B c. o Liste") == ["a.", "B c.", "o Liste"]


def test_a_lone_number_is_not_an_answer():
    bare, = check("14. [1]", SOURCES)
    assert not bare.supported


def test_a_name_opening_the_sentence_is_checked_when_it_is_written_as_a_name():
    assert names("BLOOM's training emitted 552 tonnes.") == ["BLOOM"]
    assert names("Selon le rapport, 552 tonnes.") == [] and names("I think so.") == []
    gpt3 = passage("L’entrainement de ChatGPT3 aurait émis 552 tonnes de CO2eq.", "gpt3")
    sentence, = check("BLOOM's training emitted 552 tonnes of CO2eq [1].", [Source(1, gpt3, (gpt3.text,))])
    assert not sentence.supported and any("BLOOM" in p for p in sentence.problems)


def test_a_long_sentence_is_cut_around_what_the_question_asks():
    filler = " ".join(f"mot{i}" for i in range(80))
    cut = trim(f"{filler} une requête ChatGPT consomme 2,9 Wh {filler}", {"requet", "chatgpt"})
    assert "ChatGPT consomme 2,9 Wh" in cut and cut.startswith("… ") and cut.endswith(" …")
    assert len(cut.split()) == MAX_SENTENCE_WORDS + 2


def test_names_keep_their_hyphens_and_accents():
    assert names("A ChatGPT-generated plan for I-Care's États-Unis office") == ["ChatGPT", "I-Care", "États-Unis"]


def test_the_section_heading_counts_as_context_and_an_enumerator_opens_a_clause():
    asked = Passage(0, "q", "panel-summary", "Résumé", None, (1, 2), "Questions du public posées à Xavier Marichal", None,
                    "Les développements sont guidés par le profit (90% des invest en IA sont dans les réseaux sociaux).", "")
    sentence, = check("On a dit à Xavier Marichal que 90% des invest en IA sont dans les réseaux sociaux [1].", [Source(1, asked, (asked.text,))])
    assert sentence.supported
    assert names("Steve Tumson asked along three axes: (1) What are the impacts of IAg?") == ["Tumson", "IAg"]


def test_attribution_to_a_bracket_is_dropped_and_elided_names_are_names():
    assert split("According to [1], the cost is 0.5 kWh per hour. Selon [2], il faut 70 GWh.") == [
        ("The cost is 0.5 kWh per hour.", [1]), ("Il faut 70 GWh.", [2])]
    assert names("L'Europe va s'en sortir grâce à Mistral") == ["Europe", "Mistral"]


def test_a_quoted_title_does_not_set_the_answer_language():
    from kb.language import detect

    assert detect('The document recommends the book "La Guerre des métaux rares" by Guillaume Pitron.') == "en"
    assert detect("« La vidéo compte plus de 14 millards de vues »") == "fr"  # a quotation alone keeps its language


def test_a_passage_title_backs_no_claim():
    units = Passage(0, "n", "panel-summary", "Résumé des discussions du panel (AILouvain)", None, (1, 2), "S", None,
                    "In 2023, NVIDIA shipped 100 000 units that consume 7.3 TWh.", "")
    sentence, = check("100 people attended the AILouvain panel [1].", [Source(1, units, (units.text,))])
    assert not sentence.supported


def test_a_how_long_question_asks_for_a_duration():
    assert unit_asked("How long did the training of BLOOM last?").search("118 days")
    assert not unit_asked("How long did the training of BLOOM last?").search("384 GPUs")



def test_a_name_found_only_in_the_passage_title_backs_no_claim():
    text = "Des organismes comme SystExt vous parleront mieux que moi des impacts de l'extraction minière."
    mining = Passage(0, "m", "panel-summary", "Résumé des discussions du panel (AILouvain)", None, (1, 2), "S", None, text, text)
    sources = [Source(1, mining, (text,))]
    assert check("Le document suggère SystExt pour les impacts de l'extraction minière [1].", sources)[0].supported
    wrong, = check("Le document suggère AILouvain pour les impacts de l'extraction minière [1].", sources)
    assert not wrong.supported and any("AILouvain" in p for p in wrong.problems)


def test_a_document_named_by_the_question_may_be_named_from_the_passage_title():
    text = "The compute region has an average carbon intensity of 297.6 grams of CO2eq per kWh."
    region = Passage(0, "r", "power-hungry-2023", "Power Hungry Processing (2023)", 5, None, None, None, text, text)
    sources = [Source(1, region, (text,))]
    answer = "La région de l'étude Power Hungry Processing a une intensité de 297.6 grams de CO2eq par kWh [1]."
    assert check(answer, sources, Question.parse("Quelle est l'intensité carbone de la région de l'étude Power Hungry Processing ?"))[0].supported
    assert not check(answer, sources, Question.parse("Quelle est l'intensité carbone de la région de calcul ?"))[0].supported


def test_a_water_question_asks_for_a_volume():

    assert unit_asked("Combien d'eau douce le numérique consomme-t-il ?").search("1 614 millions de m³")
    assert not unit_asked("Combien d'eau consomme une requête ChatGPT ?").search("2.9 Wh")
    assert unit_asked("How much CO2 does it emit?").search("223 millions de tonnes")


def test_a_count_question_is_not_answered_by_a_measure_and_number_words_are_figures():

    towers = unit_asked("How many cell towers does the global network count?")
    assert towers.search("10 millions d'antennes") and towers.search("about 8 per user in 2019")
    assert not towers.search("15 years of experience") and not towers.search("In 2019, 4.2% and 5.5%")
    assert not unit_asked("Combien de GPU ont servi ?").search("1,082,990 heures GPU")
    assert unit_asked("How many GPU hours did it take?") is None  # the question names a measure: hours answer it
    assert unit_asked("By how much will AI electricity demand grow?").search("at least ten times its demand in 2023")
    assert unit_asked("De combien la demande d'électricité va-t-elle croître ?").search("elle pourrait doubler")


def test_an_echo_of_the_question_says_nothing():
    from kb.answer.verify import repeats

    assert repeats("Quelle version de ChatGPT I-Care a-t-elle utilisée ?", "I-Care a utilisé ChatGPT.")
    assert not repeats("Quelle version de ChatGPT I-Care a-t-elle utilisée ?", "I-Care a utilisé ChatGPT 3.5.")
    assert not repeats("Which company is Sam Altman the CEO of?", "Sam Altman is the CEO of OpenAI.")


def test_figures_and_names_written_differently_in_the_source_still_match():
    bloom = passage("The training of the 176B parameter BLOOM model ran on the Jean Zay cluster.", "bloom")
    sentence, = check("BLOOM has 176 billion parameters [1].", [Source(1, bloom, (bloom.text,))])
    assert sentence.supported
    sentence, = check("BLOOM has 176 million parameters [1].", [Source(1, bloom, (bloom.text,))])
    assert not sentence.supported


def test_an_abbreviated_title_is_no_name_and_ends_no_sentence():
    assert names("Roald Sieberath parle de M. Dupont et de Mr. Smith.") == ["Sieberath", "Dupont", "Smith"]
    assert len(split("Son assurance a été refusée à M. Dupont [1].")) == 1
    assert len(split_sentences("Une décision IA (Mr. Dupont dont l'assurance est refusée) pourra revenir. Fin.")) == 2


def test_a_name_in_title_case_sets_no_kind_of_figure():

    models = unit_asked("Combien de modèles l'étude Power Hungry Processing a-t-elle examinés ?")
    assert models.search("88 modèles") and not models.search("0.05 kWh")  # a count, not energy; "l'étude" is no litre
    assert unit_asked("How much power does a GPU draw?").search("400 W")


def test_how_many_days_asks_a_duration():

    days = unit_asked("Over how many days was the energy use of the BLOOM API tracked?")
    assert days.search("approximately 18 days") and not days.search("914 kWh")


def test_a_how_many_times_question_asks_for_a_ratio_and_units_written_out_count():

    ratio = unit_asked("Combien de fois les émissions de la production d'un smartphone sont-elles plus lourdes que celles de son usage ?")
    assert ratio.search("400 fois plus lourdes que son usage") and not ratio.search("400 tonnes de CO2")
    assert unit_asked("How many times more energy does it use?").search("ten times more")
    energy = unit_asked("How much energy would a longer lifetime save?")
    assert energy.search("1683 terawatt-hours (TWh)") and energy.search("3 mégawattheures") and energy.search("1683 TWh")
    assert not energy.search("17 % of the total")


@pytest.mark.parametrize("reply, complete", [
    ("La vidéo compte 14 millards de vues [1]", ""),
    ("La vidéo compte 14 millards de vues [1]. Elle", "La vidéo compte 14 millards de vues [1]."),
    ("Il y a 6 limites [2]. Selon M. Dupont, c'est beaucoup [1]. (Fabrice", "Il y a 6 limites [2]. Selon M. Dupont, c'est beaucoup [1]."),
    ("According to [1], it is 2.9 Wh. [1] The", "According to [1], it is 2.9 Wh. [1]"),
])
def test_the_complete_part_of_a_reply_splits_as_the_whole_reply_will(reply, complete):
    assert complete_part(reply) == complete
    whole = split(reply + " end of it.")
    assert split(complete) == whole[: len(split(complete))]
