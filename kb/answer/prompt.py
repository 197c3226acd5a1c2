"""What the model reads: the event's constant system prompt, then the numbered sources and the question."""
from __future__ import annotations

import re

from kb.answer.context import Source
from kb.answer.verify import REFUSAL

_MONTHS = "January February March April May June July August September October November December".split()


def _about(event: dict | None) -> str:
    """What the prompts call the event, from its manifest: its title, organiser and date (or the events, by title)."""
    if event and event.get("events"):
        return "the events " + ", ".join(f'"{e.get("title") or e["id"]}"' for e in event["events"])
    if not (event and event.get("title")):
        return "an event's documents"
    day = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", event.get("date") or "")
    when = f"{int(day[3])} {_MONTHS[int(day[2]) - 1]} {day[1]}" if day else event.get("date") or ""
    context = ", ".join(x for x in (event.get("organiser"), when) if x)
    return f"the event \"{event['title']}\"" + (f" ({context})" if context else "")


def system_prompt(event: dict | None) -> str:
    """The system prompt for the questions on one event: constant for a knowledge base, so that llama.cpp reuses its
    evaluated prefix from one question to the next. What it says of the event comes from the event's manifest."""
    return (
        f"You answer questions about {_about(event)}. "
        "Each question comes with numbered sources. Give the answer the sources contain, in one or two short sentences, "
        "in the language the question asks for, ending each sentence with its source number like [1]. "
        "Copy figures, units and names exactly as the source writes them. "
        f"Reply {REFUSAL} only when no source gives the answer."
    )


def warm_up_question(event: dict | None) -> str:
    """A question to answer once, unlogged, before the first user's: the event's first example, else its title."""
    examples = (event or {}).get("examples") or []
    return examples[0] if examples else f"What is {(event or {}).get('title') or 'this event'} about?"


LANGUAGE_NAMES = {"fr": "French", "en": "English"}


def messages_for(question: str, language: str, sources: list[Source], system: str = system_prompt(None)) -> list[dict]:
    """The chat messages: the event's constant system prompt, then the sources and the question."""
    lines = "\n".join(s.prompt_line() for s in sources)
    user = f"Sources:\n{lines}\n\nQuestion: {question}\nAnswer in {LANGUAGE_NAMES[language]}."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
