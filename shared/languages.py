"""Language tags: BCP 47 as CLDR (through Babel) knows them, in one spelling everywhere.

A template is looked up by its language tag, so `de-ch`, `de_CH` and `de-CH` must name the
same template; Babel parses the tag and gives it back in its usual spelling.
"""

from __future__ import annotations


def language_tag(value: str) -> str:
    """A BCP 47 tag Babel (CLDR) knows, in its usual spelling (`de-ch` -> `de-CH`); ValueError otherwise."""
    from babel import Locale, UnknownLocaleError

    text = (value or "").strip().replace("_", "-")
    if not text or len(text) > 35 or not all(part.isalnum() and part.isascii() for part in text.split("-")):
        raise ValueError("must be a BCP 47 language tag such as en, de, fr or de-CH")
    try:
        locale = Locale.parse(text, sep="-")
    except (ValueError, UnknownLocaleError, TypeError):
        raise ValueError("is not a language CLDR knows; use a BCP 47 tag such as en, de, fr or de-CH") from None
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)
