"""Follow-up questions: made standalone from the turn before (by the model, checked, or by names), searched as such,
and kept in the audit log with the question as typed, in one conversation."""
from __future__ import annotations

import pytest

from kb import audit, followup
from kb.answer import Answerer
from kb.energy import FakeMeter
from kb.errors import EventKBError, NotFound
from kb.generator import FakeGenerator, echo_first_source

PEOPLE = [{"name": "Marie Dubois", "initials": "MD"}, {"name": "Paul Martin", "initials": "PM"}]
BEFORE = followup.Turn("Qu'a dit Marie Dubois sur le budget de la conférence de Lyon ?", "Marie Dubois a dit que le budget était de 12 000 euros [1].")


def scripted(reply: str) -> FakeGenerator:
    return FakeGenerator(lambda messages: reply)


def test_a_question_with_no_history_is_searched_as_typed_whatever_the_method():
    for method in followup.METHODS:
        rewrite = followup.standalone(method, "Et lui ?", [], PEOPLE, scripted("nonsense"))
        assert rewrite.searched == "Et lui ?" and rewrite.method == "none"


def test_the_models_rewrite_is_kept_when_its_names_and_figures_come_from_the_conversation():
    generator = scripted("« Qu'a dit Paul Martin sur le budget de la conférence de Lyon ? »")
    rewrite = followup.standalone("model", "Et Paul ?", [BEFORE], PEOPLE, generator)
    assert rewrite.searched == "Qu'a dit Paul Martin sur le budget de la conférence de Lyon ?" and rewrite.rejected is None
    prompt = generator.calls[0][-1]["content"]
    assert BEFORE.searched in prompt and "12 000 euros." in prompt and "[1]" not in prompt and "in French" in prompt
    assert rewrite.to_json()["tokens"]["completion"] > 0


@pytest.mark.parametrize("reply, reason", [
    ("Qu'a dit Jean Valjean sur le budget ?", "names Jean"),  # a name from nowhere
    ("Le budget était-il de 15 000 euros ?", "gives 15"),  # a figure from nowhere
    ("What did Paul Martin say about the budget?", "language"),
    ("", "not one question"),
])
def test_a_rewrite_that_invents_or_changes_language_falls_back_to_the_names_method(reply, reason):
    rewrite = followup.standalone("model", "Et qu'a dit Paul sur les dépenses de la conférence ?", [BEFORE], PEOPLE, scripted(reply))
    assert reason in rewrite.rejected
    assert rewrite.searched == followup.with_names("Et qu'a dit Paul sur les dépenses de la conférence ?", [BEFORE], PEOPLE)


def test_the_names_method_carries_the_people_and_names_the_follow_up_leaves_out():
    assert followup.with_names("Et qu'a-t-elle dit sur l'éducation ?", [BEFORE], PEOPLE) == "Et qu'a-t-elle dit sur l'éducation ? (Marie Dubois, Lyon)"
    # It names someone else: that person replaces the one before, the other names are kept.
    assert followup.with_names("Et Paul ?", [BEFORE], PEOPLE) == "Et Paul ? (Lyon)"
    # A person named only in the answer before is carried when the question before named no one.
    answered = followup.Turn("Qui a ouvert la conférence ?", "Paul Martin a ouvert la conférence [2].")
    assert followup.with_names("Et qu'a-t-il dit ?", [answered], PEOPLE) == "Et qu'a-t-il dit ? (Paul Martin)"
    assert followup.concatenated("Et lui ?", [BEFORE]) == BEFORE.searched + " Et lui ?"


def test_a_follow_up_too_short_to_tell_takes_the_conversations_language():
    assert followup.language_of("Et lui ?", [BEFORE]) == "fr"
    assert followup.language_of("And what about the budget of the conference?", [BEFORE]) == "en"


def test_a_conversation_searches_the_standalone_question_and_keeps_both_in_the_audit_log(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    rewrites = []

    def reply(messages):
        if messages[0]["content"] == followup.INSTRUCTIONS:
            rewrites.append(messages[-1]["content"])
            return "Combien d'énergie a-t-il fallu pour les vues de la vidéo Baby shark ?"
        return echo_first_source(messages)

    answerer = Answerer(kb, FakeGenerator(reply), FakeMeter(10.0), log, followup="model")
    first = answerer.ask("Combien de vues compte la vidéo Baby shark sur YouTube ?")
    assert first["conversation"] == first["id"] and first["searched"] == first["question"] and first["rewrite"] is None
    second = answerer.ask("Et combien d'énergie a-t-il fallu ?", conversation=first["id"])
    assert second["question"] == "Et combien d'énergie a-t-il fallu ?" and second["conversation"] == first["id"]
    assert second["searched"] == "Combien d'énergie a-t-il fallu pour les vues de la vidéo Baby shark ?"
    assert second["rewrite"]["method"] == "model" and second["timings"]["rewrite_ms"] >= 0 and len(rewrites) == 1
    assert "Baby shark" in rewrites[0] and "14 millards" in rewrites[0]  # the turn before: its question and answer
    searched = [h.passage.id for h in kb.search(second["searched"], k=5)]
    assert [r["id"] for r in second["retrieved"]] == searched != [h.passage.id for h in kb.search(second["question"], k=5)]
    assert second["energy"]["joules"] == 30.0  # the rewrite, retrieval and generation, each metered
    third = answerer.ask("Et sur TikTok ?", conversation=first["id"])
    assert second["searched"] in rewrites[-1] and second["answer"][:40] in rewrites[-1]  # the turn before: the follow-up as searched
    assert [r["id"] for r in audit.conversation(log, first["id"])] == [first["id"], second["id"], third["id"]]
    assert audit.conversation_energy(log, first["id"])["answers"] == 3
    stored = audit.get(log, second["id"])
    assert stored["question"] != stored["searched"] and audit.listing(log)[1]["searched"] == second["searched"]
    assert audit.export(log)[1]["conversation"] == first["id"]


def test_a_follow_up_in_an_unknown_conversation_or_without_audit_log_is_refused_clearly(kb, tmp_path):
    answerer = Answerer(kb, FakeGenerator(echo_first_source), FakeMeter(), audit.connect(tmp_path / "home"))
    with pytest.raises(NotFound, match="start a new conversation"):
        answerer.ask("Et lui ?", conversation="20260101T000000-deadbeef")
    with pytest.raises(EventKBError, match="audit log"):
        Answerer(kb, FakeGenerator(echo_first_source), FakeMeter(), None).ask("Et lui ?", conversation="x")
    with pytest.raises(EventKBError, match="Unknown follow-up method"):
        Answerer(kb, FakeGenerator(echo_first_source), FakeMeter(), None, followup="magic")


def test_the_names_method_needs_no_model_call(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    generator = FakeGenerator(echo_first_source)
    answerer = Answerer(kb, generator, FakeMeter(), log, followup="names")
    first = answerer.ask("Qu'a dit Xavier Marichal sur la vidéo Baby shark ?")
    calls = len(generator.calls)
    second = answerer.ask("Et combien de vues ?", conversation=first["id"])
    assert second["searched"].startswith("Et combien de vues ? (Xavier Marichal")
    assert len(generator.calls) == calls + 1 and second["rewrite"]["method"] == "names"


def _rewriting(messages):
    """The fake model: a fixed standalone question when asked to rewrite, else the first source."""
    if messages[0]["content"] == followup.INSTRUCTIONS:
        return "Combien d'énergie a-t-il fallu pour les vues de la vidéo Baby shark ?"
    return echo_first_source(messages)


def test_the_api_takes_a_conversation_and_streams_its_running_totals(event_home, tmp_path):
    import json
    import shutil

    from tests.conftest import fake_client

    home = tmp_path / "kb"
    shutil.copytree(event_home, home)
    client = fake_client(home, _rewriting)
    first = client.post("/api/ask", json={"question": "Combien de vues compte la vidéo Baby shark sur YouTube ?"}).get_json()
    assert first["conversation"] == first["id"] and first["conversation_totals"]["answers"] == 1
    body = client.post("/api/ask/stream", json={"question": "Et l'énergie ?", "conversation": first["id"]}).get_data(as_text=True)
    events = [(b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: "))) for b in body.strip().split("\n\n")]
    assert events[0][1]["searched"] == "Combien d'énergie a-t-il fallu pour les vues de la vidéo Baby shark ?"
    assert events[0][1]["also_searched"] == ["Combien de vues compte la vidéo Baby shark sur YouTube ? Et l'énergie ?"]  # the default, fused
    record, totals = events[-2][1]["record"], events[-1][1]
    assert events[-1][0] == "conversation" and record["question"] == "Et l'énergie ?" and record["conversation"] == first["id"]
    assert totals["answers"] == 2 and totals["cloud_wh"] == 5.8 and totals["ratio"] == round(5.8 / totals["wh"], 1)
    listed = client.get(f"/api/conversations/{first['id']}").get_json()
    assert [a["question"] for a in listed["answers"]] == ["Combien de vues compte la vidéo Baby shark sur YouTube ?", "Et l'énergie ?"]
    assert listed["answers"][1]["searched"] == record["searched"] and listed["totals"]["answers"] == 2
    page = client.get(f"/audit/{record['id']}").get_data(as_text=True)
    assert "audit-searched" in page and first["id"] in page
    assert client.post("/api/ask", json={"question": "Et lui ?", "conversation": ["x"]}).status_code == 400
    unknown = client.post("/api/ask", json={"question": "Et lui ?", "conversation": "20260101T000000-deadbeef"})
    assert unknown.status_code == 404 and "start a new conversation" in unknown.get_json()["error"]["message"]
    streamed = client.post("/api/ask/stream", json={"question": "Et lui ?", "conversation": "nope"}).get_data(as_text=True)
    assert '"code": "not_found"' in streamed
    assert client.get("/api/conversations/nope").status_code == 404


def test_the_energy_page_lists_conversations_with_their_totals_against_chatgpt(event_home, tmp_path):
    import shutil

    from tests.conftest import fake_client

    home = tmp_path / "kb"
    shutil.copytree(event_home, home)
    client = fake_client(home, _rewriting)
    first = client.post("/api/ask", json={"question": "Combien de vues compte la vidéo Baby shark sur YouTube ?"}).get_json()
    client.post("/api/ask", json={"question": "Et l'énergie ?", "conversation": first["id"]})
    client.post("/api/ask", json={"question": "Qui a modéré le panel ?"})
    talks = audit.conversations(audit.connect(home))
    assert [c["answers"] for c in talks] == [1, 2] and talks[1]["first_question"].startswith("Combien de vues")
    page = client.get("/energy?lang=fr").get_data(as_text=True)
    row = page.split('id="energy-conversations"', 1)[1].split("</table>", 1)[0]
    assert "Combien de vues" in row and "5,8 Wh" in row and "fois plus" in row and "×" not in row


def test_the_command_line_offers_the_same_methods():
    from eventkb.cli import FOLLOWUP_METHODS

    assert FOLLOWUP_METHODS == followup.METHODS


def test_the_fused_method_answers_the_models_question_and_searches_it_with_the_concatenation(kb, tmp_path):
    log = audit.connect(tmp_path / "home")
    rewritten = "Qui a modéré le panel sur les limites planétaires ?"
    answerer = Answerer(kb, FakeGenerator(lambda m: rewritten if m[0]["content"] == followup.INSTRUCTIONS else echo_first_source(m)),
                        FakeMeter(), log, followup="fused")
    first = answerer.ask("Combien de limites planétaires avons-nous déjà franchies ?")  # no name: one search, no second look
    second = answerer.ask("Qui a modéré le panel ?", conversation=first["id"])
    joined = first["question"] + " Qui a modéré le panel ?"
    assert second["searched"] == rewritten and second["rewrite"]["method"] == "fused" and second["rewrite"]["also"] == [joined]
    fused = [h.passage.id for h in kb.search(rewritten, k=5, also=(joined,))]
    assert [r["id"] for r in second["retrieved"]] == fused
    pool = {h.passage.id for q in (rewritten, joined) for h in kb.search(q, k=50)}
    assert set(fused) <= pool and fused != [h.passage.id for h in kb.search(rewritten, k=5)]
    # The same wording twice is the same ranking: fusion by rank only merges lists.
    same = [h.passage.id for h in kb.search("Qui a modéré le panel ?", k=5)]
    assert [h.passage.id for h in kb.search("Qui a modéré le panel ?", k=5, also=("Qui a modéré le panel ?",))] == same


def test_the_default_method_is_the_one_the_command_line_names():
    from eventkb.cli import FOLLOWUP_HELP
    from kb.answer import FOLLOWUP

    assert f"(default: {FOLLOWUP})" in FOLLOWUP_HELP
