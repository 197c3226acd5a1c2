"""Tell French from English by their function words: enough for questions and one-sentence answers."""
from __future__ import annotations

import re

from kb.textnorm import fold

FRENCH = frozenset(
    "le la les un une des du de au aux et est sont que qui quoi quel quelle quels quelles combien comment pourquoi "
    "ou dans pour par sur avec ce cette ces il elle ils elles nous vous on ne pas plus selon leur leurs a-t-il "
    "qu y t-il donc mais aussi tres deja ete etait sera peut faut entre chez d l s c n j".split()
)
ENGLISH = frozenset(
    "the a an and is are was were what which who whom how why when where does do did of in on for with by to "
    "this that these those it its they their there has have had be been not more than according about much many "
    "can could would should will from as at".split()
)


def detect(text: str, default: str = "en") -> str:
    """"fr" or "en" for `text`, by counting function words; `default` on a tie."""
    unquoted = re.sub(r"«[^«»]*»|“[^“”]*”|\"[^\"]*\"", " ", text)
    if len(unquoted.split()) >= 3:  # a quoted title ("La Guerre des métaux rares") is not the sentence's language
        text = unquoted
    folded = fold(text).replace("’", "'")
    words = re.findall(r"[a-z]+", folded)
    elisions = len(re.findall(r"\b[ldjcnsqu]{1,2}'", folded))
    fr = sum(w in FRENCH for w in words) + 2 * elisions
    en = sum(w in ENGLISH for w in words)
    if any(ch in text for ch in "éèêëàâçùûôîï"):
        fr += 1
    if fr == en:
        return default
    return "fr" if fr > en else "en"
