"""BCP 47 language tags as the feed gives them, read with Babel's CLDR data.

A tag is kept in one canonical spelling (`de`, `de-CH`, `zh-Hant-TW`) so that `DE-ch` and
`de-CH` in two feeds are the same language, and a regional tag can be served by its base
language's template (`de-CH` reads the `de` template with Swiss formats).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_SHAPE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


class LanguageError(ValueError):
    """A language tag Babel does not know; the message names the fix."""


def normalize_language(tag: str) -> str:
    """The canonical tag, or LanguageError saying what to write instead."""
    return _normalized(tag.strip())


@lru_cache(maxsize=1024)
def _normalized(tag: str) -> str:
    if not _SHAPE.match(tag):
        raise LanguageError(
            f"{tag!r} is not a BCP 47 language tag; use a tag such as en, de, fr or de-CH "
            "(letters and digits in parts joined by '-')"
        )
    locale = babel_locale(tag)
    parts = [locale.language, locale.script, locale.territory, locale.variant]
    return "-".join(p for p in parts if p)


@lru_cache(maxsize=1024)
def babel_locale(tag: str) -> Any:
    """Babel's Locale for a tag (cached: parsing loads CLDR data)."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as error:
        raise LanguageError(
            f"{tag!r} is not a language the locale data (CLDR) knows: {error}; use a tag such as en, de, fr or de-CH"
        ) from None


def base_language(tag: str) -> str:
    """`de-CH` -> `de`: the template a regional tag falls back to before the default language."""
    return tag.split("-", 1)[0].lower()
