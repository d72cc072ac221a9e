"""One typo forgiven per word, the same on SQLite and PostgreSQL.

A query word the catalogue does not know (not a word of a visible name, person, genre or tag,
nor the start of one) is replaced by the known words one edit away: a letter changed, added,
dropped, or two neighbours swapped ("Gardan" -> garden, "Nigth" -> night). Words of three
letters or fewer are never corrected (too many neighbours); words of eight or more may be two
edits away. The vocabulary is read once and cached until the search index changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.cache import cache

from catalog.models import Title

VOCABULARY_KEY = "catalog:search:vocabulary:v1"
VOCABULARY_TTL = 600  # seconds; the index drain also forgets it at once
MIN_CORRECTED_LENGTH = 4
TWO_EDITS_FROM = 8
_WORD = re.compile(r"\w+")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent swaps), or `limit + 1`
    as soon as it is certain to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def words_of(texts: Iterable[str]) -> set[str]:
    return {w for text in texts for w in _WORD.findall((text or "").lower())}


def search_vocabulary() -> frozenset[str]:
    """Every word of published titles' names and search documents (people, genres, tags)."""
    cached = cache.get(VOCABULARY_KEY)
    if cached is not None:
        return frozenset(cached)
    rows = Title.objects.filter(is_published=True).values_list("name", "search_document")
    vocabulary = words_of(text for row in rows for text in row)
    cache.set(VOCABULARY_KEY, sorted(vocabulary), VOCABULARY_TTL)
    return frozenset(vocabulary)


def vocabulary_forget() -> None:
    """Called when titles' searchable text changes (the search index drain)."""
    cache.delete(VOCABULARY_KEY)


def corrections(word: str, vocabulary: frozenset[str]) -> list[str]:
    """The words `word` may have meant: itself when known (or the start of a known word, as
    while typing) or too short to guess; else the known words within its edit limit, closest
    first; else itself (nothing close: the search finds nothing for it)."""
    if len(word) < MIN_CORRECTED_LENGTH or word in vocabulary:
        return [word]
    if any(known.startswith(word) for known in vocabulary):
        return [word]
    limit = 2 if len(word) >= TWO_EDITS_FROM else 1
    scored = sorted(
        (distance, known)
        for known in vocabulary
        if (distance := edit_distance(word, known, limit)) <= limit
    )
    return [known for _, known in scored] or [word]


def corrected_words(words: list[str]) -> list[list[str]]:
    """For each query word, the words to search for in its place (see `corrections`)."""
    vocabulary = search_vocabulary()
    return [corrections(word, vocabulary) for word in words]
