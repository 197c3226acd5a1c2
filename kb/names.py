"""The names a text writes: capitalised words that are not sentence openers, units or generic acronyms."""
from __future__ import annotations

import re

from kb.textnorm import fold

_NAME = re.compile(r"(?<![\w'’-])([A-ZÀ-Ü][\w]*(?:[-'’][\w]+)*)(?![\w])")
# Capitalised words that are not names to check: sentence openers, units, generic acronyms.
_NOT_NAMES = frozenset(fold(w) for w in (
    "Le La Les Un Une Des Selon Il Elle Ils Elles Cela Ce Cette Ces En Au Aux Pour Par Sur Dans Avec Mais Et Donc Oui Non "
    "The A An According In It Its This That These Those They There He She We Yes No But And So For On At By With "
    "Wh kWh MWh GWh TWh CO2 CO2e CO2eq GES GHG IA AI TIC ICT DC GPU GPUs CPU PDF "
    "M Mr Mme Mlle Dr").split())  # "M. Dupont": the title is not a name


_OPENER = re.compile(r"(^|[:;]|\(\d+\)|^\W+)\s*$")


def _opens(text: str, at: int) -> bool:
    """True when the word at `at` opens the sentence, or a clause after ":", ";" or an enumerator "(1)"."""
    return _OPENER.search(text[:at]) is not None


def _as_name(word: str) -> str:
    """The name a capitalised word writes: "ChatGPT-generated" gives "ChatGPT", "Acme-Corp's" gives "Acme-Corp", "L'Europe"
    gives "Europe", "GPT-4" stays whole."""
    kept = []
    word = re.sub(r"^(?:[LlDdJjNnSsCc]|[Qq]u)['’]", "", re.sub(r"['’]s$", "", word))  # "L'Europe", "BLOOM's"
    for part in word.split("-"):
        if not (part[:1].isupper() or part.isdigit()):
            break
        kept.append(part)
    return "-".join(kept)


def names(text: str) -> list[str]:
    """Capitalised words that are not common openers or units ("ChatGPT-generated" gives "ChatGPT"); the sentence's
    first word only when its inner capitals make it a name ("BLOOM's", "ChatGPT"), not just a sentence opener."""
    found = []
    for m in _NAME.finditer(text):
        if _opens(text, m.start()) and not any(ch.isupper() for ch in m.group(1)[1:]):
            continue
        name = _as_name(m.group(1))
        if name and fold(name) not in _NOT_NAMES and name not in found:
            found.append(name)
    return found
