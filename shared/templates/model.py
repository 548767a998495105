"""Template texts and the set of them in force: one subject and body per role and language.

A `TemplateSet` is immutable and carries a short `version` digest of everything in it, so a
run can tell which wording an invitation was rendered with, and a compiled template can be
cached by (version, role, language) for the whole run.

Besides the texts, a set holds each language's phrases: the words the product itself puts
on a meeting outside the body (the "Online" location, the cancellation comments). They are
shipped with the built-in languages and translated with them; an organisation's own phrases
of a language (stored like its templates) are merged over the built-in phrases of that
language, or, for a language without built-in phrases, over the default language's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

from shared.templates.languages import normalize_language

TemplateRole = Literal["learner", "primaryInstructor", "instructor"]
TEMPLATE_ROLES: tuple[TemplateRole, ...] = ("learner", "primaryInstructor", "instructor")
BUILTIN_LANGUAGES: tuple[str, ...] = ("en", "de", "fr")
FALLBACK_LANGUAGE = "en"  # the built-in set always has it, whatever the default language is

# The phrases every language has (see the builtin/<language>/phrases.json files).
PHRASES: tuple[str, ...] = (
    "online",
    "cancel.offeringCancelled",
    "cancel.sessionRemoved",
    "cancel.sessionCancelled",
    "cancel.noLongerInstructor",
    "cancel.withdrew",
    "cancel.enrollmentCancelled",
    "cancel.noLongerEnrolled",
)
# The placeholders each phrase receives: a cancellation comment may name the offering.
PHRASE_VALUES: dict[str, frozenset[str]] = {
    name: frozenset() if name == "online" else frozenset({"offering_title"}) for name in PHRASES
}


@dataclass(frozen=True)
class TemplateText:
    """A subject (plain text, one line) and an HTML body, both Jinja2 template source."""

    subject: str
    body: str


@dataclass(frozen=True)
class TemplateSet:
    """The texts in force, keyed by (role, language), with the organisation's default language."""

    version: str
    default_language: str
    texts: Mapping[tuple[str, str], TemplateText]
    phrases: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _builtin_phrases_copy())

    @classmethod
    def builtin(cls, default_language: str = "en") -> TemplateSet:
        """The shipped texts (en, de, fr for every role); the English ones are the product's own layout."""
        return cls.of(default_language, builtin_texts(), builtin_phrases())

    @classmethod
    def of(
        cls, default_language: str, texts: Mapping[tuple[str, str], TemplateText],
        phrases: Mapping[str, Mapping[str, str]] | None = None,
    ) -> TemplateSet:
        """A set with its version computed from what it holds."""
        language = normalize_language(default_language)
        unknown = sorted({role for role, _lang in texts if role not in TEMPLATE_ROLES})
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a template role; use one of {', '.join(TEMPLATE_ROLES)}")
        kept = {(role, normalize_language(lang)): text for (role, lang), text in texts.items()}
        words = dict(phrases if phrases is not None else builtin_phrases())
        return cls(digest(language, kept, words), language, kept, words)

    def with_texts(self, texts: Mapping[tuple[str, str], TemplateText]) -> TemplateSet:
        """This set with some texts replaced or added (an organisation's own over the built-in ones)."""
        return TemplateSet.of(self.default_language, {**self.texts, **texts}, self.phrases)

    def with_phrases(self, stored: Mapping[str, Mapping[str, str]]) -> TemplateSet:
        """This set with an organisation's own phrases per language merged over the built-in ones."""
        words = {language: dict(found) for language, found in self.phrases.items()}
        for language, own in stored.items():
            key = normalize_language(language)
            words[key] = {**phrase_base(key, self.default_language), **own}
        return TemplateSet.of(self.default_language, self.texts, words)

    def with_default_language(self, language: str) -> TemplateSet:
        return TemplateSet.of(language, self.texts, self.phrases)

    def languages(self) -> list[str]:
        return sorted({lang for _role, lang in self.texts})


def digest(default_language: str, texts: Mapping[tuple[str, str], TemplateText],
           phrases: Mapping[str, Mapping[str, str]]) -> str:
    """A short, stable digest of everything that shapes rendered invitations."""
    canonical = json.dumps(
        {
            "defaultLanguage": default_language,
            "texts": sorted([role, lang, text.subject, text.body] for (role, lang), text in texts.items()),
            "phrases": {lang: dict(sorted(words.items())) for lang, words in sorted(phrases.items())},
        },
        ensure_ascii=False, separators=(",", ":"), sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def phrase_base(language: str, default_language: str) -> dict[str, str]:
    """The built-in phrases an organisation's own phrases of `language` are merged over.

    The language's own (or its base language's: `de-CH` uses `de`), else the default language's,
    else English, which is always built in.
    """
    from shared.templates.languages import base_language

    shipped = builtin_phrases()
    for candidate in (language, base_language(language), default_language, base_language(default_language)):
        if candidate in shipped:
            return dict(shipped[candidate])
    return dict(shipped[FALLBACK_LANGUAGE])


def _builtin_phrases_copy() -> dict[str, dict[str, str]]:
    return {language: dict(words) for language, words in builtin_phrases().items()}


def _builtin_file(language: str, name: str) -> str:
    return (resources.files("shared.templates") / "builtin" / language / name).read_text(encoding="utf-8")


@cache
def builtin_texts() -> dict[tuple[str, str], TemplateText]:
    return {
        (role, language): TemplateText(
            subject=_builtin_file(language, f"{role}.subject.txt").rstrip("\n"),
            body=_builtin_file(language, f"{role}.body.html"),
        )
        for language in BUILTIN_LANGUAGES
        for role in TEMPLATE_ROLES
    }


@cache
def builtin_phrases() -> dict[str, dict[str, str]]:
    return {language: dict(json.loads(_builtin_file(language, "phrases.json"))) for language in BUILTIN_LANGUAGES}
