"""How eventkb runs llama.cpp: weight repacking on or off, and the system prompt kept evaluated between processes.

Runs the bundled small model (SmolLM2), so it is marked e2e; the settings' parsing needs no model.
"""
from __future__ import annotations

import pytest

from kb import models
from kb.errors import EventKBError
from kb.generator import LlamaGenerator, ModelInfo, Usage, default_repack, repack_wanted

MESSAGES = [{"role": "system", "content": "You answer questions about the event \"Test\". Reply in one short sentence."},
            {"role": "user", "content": "Sources:\n[1] (Ann) The hall holds 120 people.\n\nQuestion: How many people does the hall hold?"}]


def test_repack_setting_reads_the_environment(monkeypatch):
    monkeypatch.delenv("EVENTKB_REPACK", raising=False)
    assert repack_wanted() is default_repack()
    monkeypatch.setenv("EVENTKB_REPACK", "0")
    assert repack_wanted() is False
    monkeypatch.setenv("EVENTKB_REPACK", "1")
    assert repack_wanted() is True
    monkeypatch.setenv("EVENTKB_REPACK", "yes")
    with pytest.raises(EventKBError, match="EVENTKB_REPACK is 'yes': set it to 1"):
        repack_wanted()


def small(prefix_dir=None, repack=False) -> LlamaGenerator:
    path = models.generator_path("small-generator")
    return LlamaGenerator(path, ModelInfo("small", path.name, models.entry("small-generator")["sha256"]), repack=repack, prefix_dir=prefix_dir)


def reply(generator: LlamaGenerator, messages=MESSAGES) -> str:
    return "".join(generator.stream(messages, 24, Usage()))


@pytest.mark.e2e
def test_repacking_is_set_for_this_load_only_and_recorded():
    from llama_cpp import llama_cpp as lib

    assert "use_extra_bufts" in dict(lib.llama_model_params._fields_)  # the llama.cpp field behind --no-repack
    defaults = lib.llama_model_default_params
    packed, plain = small(repack=True), small(repack=False)
    assert lib.llama_model_default_params is defaults and defaults().use_extra_bufts  # llama.cpp's default is left alone
    assert packed.info.to_json()["options"] == {"repack": True} and plain.info.to_json()["options"] == {"repack": False}
    assert reply(packed).strip() and reply(plain).strip()


@pytest.mark.e2e
def test_the_system_prompt_is_kept_on_disk_and_read_back_by_a_fresh_context(tmp_path):
    expected = reply(small())  # no kept prefix: the whole prompt evaluated at once
    first = small(tmp_path)
    assert reply(first) == expected
    kept = list(tmp_path.glob("*.state"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0 and list(tmp_path.glob("*.part")) == []

    fresh = small(tmp_path)
    prefix = fresh._constant_prefix(MESSAGES[0]["content"])
    evaluate = fresh.llm.eval
    fresh.llm.eval = lambda tokens: pytest.fail("the kept prefix was evaluated again instead of read back")
    fresh._restore_prefix(MESSAGES)  # what stream() does first
    fresh.llm.eval = evaluate
    assert fresh.llm.n_tokens == len(prefix) and fresh.llm.input_ids[: len(prefix)].tolist() == prefix
    assert reply(fresh) == expected
    other = [MESSAGES[0], {"role": "user", "content": "Sources:\n[1] (Bo) Doors open at 9.\n\nQuestion: When do doors open?"}]
    assert reply(fresh, other) == reply(small(), other)  # the next question reuses the prefix in memory
    assert list(tmp_path.glob("*.state")) == kept


@pytest.mark.e2e
def test_a_damaged_kept_prefix_is_replaced_and_the_reply_unchanged(tmp_path):
    expected = reply(small(tmp_path))
    [kept] = tmp_path.glob("*.state")
    kept.write_bytes(b"not a llama.cpp state")
    assert reply(small(tmp_path)) == expected
    [again] = tmp_path.glob("*.state")
    assert again.name == kept.name and again.stat().st_size > 100


@pytest.mark.e2e
def test_another_system_prompt_gets_its_own_kept_prefix_and_an_unwritable_folder_only_costs_time(tmp_path):
    generator = small(tmp_path)
    reply(generator)
    reply(generator, [{"role": "system", "content": "You answer questions about the event \"Other\"."}, MESSAGES[1]])
    assert len(list(tmp_path.glob("*.state"))) == 2
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    assert reply(small(blocked / "prefix")) == reply(small())


def test_preload_loads_in_the_background_and_a_failure_is_raised_where_the_model_is_needed(tmp_path):
    from kb.generator import load_generator, preload

    preload("fake")
    assert load_generator("fake") is load_generator("fake")
    missing = str(tmp_path / "absent.gguf")
    preload(missing)  # nothing raised in the background thread
    with pytest.raises(EventKBError, match="does not exist: pass the path of a GGUF file"):
        load_generator(missing)


@pytest.mark.e2e
def test_the_odds_of_declining_are_read_at_the_first_word_without_changing_the_reply():
    generator = small()
    plain = reply(generator)
    usage = Usage(decline="NOT IN SOURCES")
    assert "".join(generator.stream(MESSAGES, 24, usage)) == plain and 0.0 < usage.decline_p < 1.0
    hall = Usage(decline="The hall")  # the likely start of this reply gets high odds, the refusal low ones
    "".join(generator.stream(MESSAGES, 24, hall))
    assert hall.decline_p > usage.decline_p
    assert Usage().decline_p is None and "".join(generator.stream(MESSAGES, 24, Usage())) == plain
