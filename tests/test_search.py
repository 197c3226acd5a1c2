"""Search, filters, fusion, query expansion and quotes on the bundled event, with the fake embedder."""
from __future__ import annotations

import pytest

from kb.errors import EventKBError
from kb.indexes import KeywordIndex, convex_fusion, reciprocal_rank_fusion
from kb.people import resolve
from kb.query import keyword_concepts, keyword_tokens
from kb.textnorm import fold, tokens


def test_rrf_hand_worked():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    scores = dict(fused)
    assert [item for item, _ in fused] == [1, 3, 2]
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert reciprocal_rank_fusion([[5], [6]], weights=[1.0, 0.5])[0][0] == 5


def test_score_fusion_keeps_one_list_s_clear_best_above_passages_both_rank_in_the_middle():
    keyword = [(1, 9.0), (2, 3.0), (3, 2.9), (4, 1.0)]
    dense = [(5, 0.90), (2, 0.60), (3, 0.59), (6, 0.50)]
    fused = convex_fusion([keyword, dense], [1.0, 1.0])
    assert [row for row, _ in fused][:4] == [1, 5, 2, 3]  # each list's clear best first, ties in order of the lists
    assert fused[-1][1] == 0.0 and convex_fusion([[(7, 2.0)], []], [1.0, 1.0]) == [(7, 1.0)]
    by_rank = reciprocal_rank_fusion([[r for r, _ in keyword], [r for r, _ in dense]])
    assert [row for row, _ in by_rank][:2] == [2, 3]  # rank fusion puts the middle of both lists first


def test_tokens_fold_accents_and_stem_both_languages():
    assert fold("Énergie ÉLECTRIQUE") == "energie electrique"
    assert "consomm" in tokens("consommation") and "2,9" in tokens("2,9 Wh")
    assert "le" not in tokens("le la les the")


def test_expansion_crosses_languages():
    assert {"data", "centr"} <= set(keyword_tokens("Combien de centres de données ?"))
    assert set(tokens("électricité")) <= set(keyword_tokens("How much electricity?"))
    assert keyword_tokens("Irlande", expand=False) == tokens("Irlande")
    assert set(tokens("Ireland")) <= set(keyword_tokens("Irlande"))


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_search_modes_return_ranked_passages(kb, mode):
    hits = kb.search("Baby shark vidéo YouTube vues", k=3, mode=mode)
    assert 1 <= len(hits) <= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_finds_the_passage(kb):
    hits = kb.search("Combien de vues pour la vidéo Baby shark ?", k=3)
    assert "14 millards de vues" in hits[0].passage.text
    assert hits[0].passage.lines[0] == 113 and hits[0].passage.speaker == "Xavier Marichal"


def test_filters(kb):
    hits = kb.search("énergie", k=20, speaker="FB")
    assert hits and {h.passage.speaker for h in hits} == {"Fabrice Brion"}
    hits = kb.search("énergie", k=20, section="conclusions")
    assert hits and all("CONCLUSIONS" in h.passage.section for h in hits)
    assert kb.search("énergie", k=5, document="panel-summary")
    some = {h.passage.row for h in kb.search("énergie", k=20)[5:8]}
    assert {h.passage.row for h in kb.search("énergie", k=20, within=some)} == some
    fb_rows = {h.passage.row for h in kb.search("énergie", k=20, speaker="FB")}
    assert {h.passage.row for h in kb.search("énergie", k=20, speaker="FB", within=some | fb_rows)} == fb_rows
    with pytest.raises(EventKBError, match="No document 'nope'"):
        kb.search("énergie", document="nope")
    with pytest.raises(EventKBError, match="empty"):
        kb.search("   ")


@pytest.mark.parametrize("query", ["Xavier Marichal", "marichal", "XM", "xm", "Xavier", "MARICHAL"])
def test_person_found_by_any_form(kb, query):
    assert kb.person(query)["name"] == "Xavier Marichal"


def test_person_accents_and_unknown():
    people = [{"name": "Benoît Simon", "role": "intro", "initials": "BS", "aliases": []}, {"name": "Jules Delcon", "role": "x", "initials": "JD", "aliases": []}]
    assert resolve("benoit simon", people)["name"] == "Benoît Simon"
    with pytest.raises(EventKBError, match="No one called 'Bob'.*Benoît Simon \\(intro\\), Jules Delcon"):
        resolve("Bob", people)


def test_quotes_only_the_persons_passages(kb):
    person, hits = kb.quotes("RS")
    assert person["name"] == "Roald Sieberath"
    assert hits and all(h.passage.speaker == "Roald Sieberath" for h in hits)
    lines = [h.passage.lines[0] for h in hits]
    assert lines == sorted(lines)  # document order without a query
    _, ranked = kb.quotes("Roald", "films personnalisés", k=2)
    assert len(ranked) <= 2 and all(h.passage.speaker == "Roald Sieberath" for h in ranked)
    assert kb.quotes("Steve Tumson")[1] == []


def test_expansion_finds_plurals_through_their_stem():
    assert set(tokens("jours")) <= set(keyword_tokens("How many days?"))


def test_question_words_are_not_searched_and_a_quantity_question_searches_its_units():
    terms = keyword_tokens("How long did the training of BLOOM last?")
    assert "long" not in terms and {"day", "jour", "hour", "dure"} <= set(terms)
    co2 = keyword_tokens("How much CO2 did it emit?")
    assert "much" not in co2 and "tonn" in co2
    assert "numer" not in co2 and "etats" not in keyword_tokens("What did they tell us?")  # "it", "us" are not IT, the US
    assert "numer" in keyword_tokens("IT and ICT energy")


def test_a_concept_counts_once_however_many_of_its_variants_a_passage_writes():
    question = "Combien d'énergie consomme une requête ChatGPT ?"
    concepts = keyword_concepts(question)
    energy = next(c for c in concepts if ("energi", 1.0) in c)
    assert ("energy", 0.5) in energy  # the English equivalent, at half the weight of the question's own word
    assert [("chatgpt", 1.0)] in concepts
    passages = [
        "OpenAI ChatGPT: 2.9 Wh per request.",
        "Plus ces entreprises consomment de l'énergie, plus elles gagnent: their energy consumption keeps increasing, énergie consommée.",
        "Le numérique consomme de l'électricité et de l'énergie primaire.",
        "Baby shark a 14 milliards de vues.",
        "Les data centres consomment 460 TWh.",
    ]
    index = KeywordIndex.build(passages)
    assert index.search(concepts, 1)[0][0] == 0
    # Summing every variant, as a flat token list does, lets the passage that repeats "energy" in two languages win.
    assert index.search([[(t, 1.0)] for t in keyword_tokens(question)], 1)[0][0] == 1


