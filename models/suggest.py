""""Did you mean ...?": the closest of the names that exist to one that does not."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `word` (letter case aside), or None when none is close."""
    by_folded = {choice.lower(): choice for choice in choices}
    close = get_close_matches(word.lower(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'okta'?` for the choice closest to `word`, or "" when none is close."""
    found = closest(word, choices)
    return f"; did you mean '{found}'?" if found else ""
