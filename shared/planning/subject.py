"""Subjects as Graph takes them: at most 255 UTF-16 code units, cut visibly when longer."""

from __future__ import annotations

# Exchange limits an item's subject to 255 characters and Graph refuses a longer one
# (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/subject).
# Exchange counts UTF-16 code units, so a character outside the Basic Multilingual Plane counts twice.
SUBJECT_MAX_LENGTH = 255
ELLIPSIS = "\u2026"


def fit_subject(text: str, limit: int = SUBJECT_MAX_LENGTH) -> str:
    """The subject as it is, or cut to fit Graph's limit with an ellipsis, so a long offering and
    activity title is shortened where the person reads it rather than refused by Graph."""
    if _utf16_length(text) <= limit:
        return text
    room = limit - _utf16_length(ELLIPSIS)
    kept: list[str] = []
    for char in text:
        room -= _utf16_length(char)
        if room < 0:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
