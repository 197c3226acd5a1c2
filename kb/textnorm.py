"""Text normalisation shared by indexing and querying: accent folding, tokens, French and English stems."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")

# Small function-word lists for French and English; content words are what BM25 should match.
STOPWORDS = frozenset(
    """
    a au aux avec ce ces cet cette d de des du elle en et il ils je l la le les leur leurs lui ma
    mais me meme mes moi mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses son sur
    t ta te tes toi ton tu un une vos votre vous y est sont ete etre avoir a ont fait c ca cela ceci
    dans plus tres aussi si sans entre sous comme tout tous toute toutes donc alors ainsi quel quelle
    quels quelles combien comment pourquoi quoi ou selon
    the of and to in is are was were be been being for on with as by at an or it its this that these
    those from which who whom what when where why how do does did has have had not no but if than then
    so such can could would should will may might about into over also there their they them we our you
    your he she his her i me my
    """.split()
)

# Words that phrase a question without saying what it is about ("how much", "according to").
QUESTION_WORDS = frozenset(
    "quelle quel quels quelles combien comment pourquoi qui quoi que est-ce what which who how why when where much many "
    "does did do is are was were dit-il dit-elle a-t-il a-t-elle said say says according selon y-a-t-il il".split()
)


# A stop after a title ("M. Dupont", "(Mr. Dupont") ends no sentence: a lookbehind for sentence-splitting patterns.
NOT_A_TITLE = r"(?<!\bM\.)(?<!\bMr\.)(?<!\bDr\.)(?<!\bMme\.)"


def fold(text: str) -> str:
    """Lowercase and strip accents (NFKD), so that "Énergie" and "energie" match."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("œ", "oe").replace("æ", "ae")


def words(text: str) -> list[str]:
    """Folded word tokens, numbers kept whole ("2,9", "0.3")."""
    return _WORD.findall(fold(text).replace("’", "'"))


@lru_cache(maxsize=1)
def _stemmers():
    import Stemmer

    return Stemmer.Stemmer("french"), Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stems(word: str) -> tuple[str, ...]:
    """French and English stems of one folded word (one or two distinct tokens)."""
    french, english = _stemmers()
    fr, en = french.stemWord(word), english.stemWord(word)
    return (fr,) if fr == en else (fr, en)


def tokens(text: str) -> list[str]:
    """The tokens BM25 indexes and queries with: content words, stemmed in both languages."""
    out: list[str] = []
    for word in words(text):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.extend(stems(word))
    return out
