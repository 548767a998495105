"""The template store on Azurite: versions kept, the newest in force, refusals before anything is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.store.tables import Tables
from shared.store.templates import MAX_BODY, TemplateNotSaved, TemplateStore
from shared.templates.model import TemplateSet, TemplateText

BUILTIN = TemplateSet.builtin("en")


def builtin(role: str = "learner", language: str = "en") -> TemplateText:
    return BUILTIN.texts[(role, language)]


def edited(marker: str, role: str = "learner", language: str = "en") -> TemplateText:
    """The built-in text with a marker in its subject and a paragraph more in its body (valid as the built-in is)."""
    text = builtin(role, language)
    return TemplateText(f"{marker} {text.subject}", text.body.replace("</body>", f"<p>{marker}</p></body>"))


def test_each_save_is_a_new_version_and_the_newest_is_in_force(tables: Tables) -> None:
    store = TemplateStore(tables)
    before = store.current("en")

    first = store.put("learner", "de", edited("Einladung"), "avery@contoso.example")
    second = store.put("learner", "de", edited("Termin"), "blake@contoso.example")

    assert (first, second) == (1, 2)
    versions = store.versions("learner", "de")
    assert [(v.version, v.updated_by) for v in versions if v.version] == [
        (2, "blake@contoso.example"), (1, "avery@contoso.example")]
    assert versions[1].subject.startswith("Einladung ") and "<p>Einladung</p>" in versions[1].body
    assert all(v.updated_at is not None and abs((datetime.now(UTC) - v.updated_at).total_seconds()) < 120
               for v in versions if v.version)
    current = store.get("learner", "de")
    assert current is not None and (current.version, current.subject) == (2, edited("Termin").subject)
    in_force = store.current("en")
    assert in_force.texts[("learner", "de")] == edited("Termin")
    assert in_force.texts[("instructor", "en")] == builtin("instructor")  # untouched pairs stay built in
    assert in_force.version != before.version
    assert store.current("en").version == in_force.version  # the same texts read again: the same version
    assert store.version("learner", "de", 1) == versions[1]


def test_a_template_the_engine_refuses_is_not_stored_and_says_the_line(tables: Tables) -> None:
    store = TemplateStore(tables)
    text = builtin()
    bad = TemplateText(text.subject, "<p>Hello</p>\n<p>Welcome</p>\n<p>{{ no_such_placeholder }}</p>\n")

    with pytest.raises(TemplateNotSaved) as refused:
        store.put("learner", "en", bad, "avery@contoso.example")

    problems = refused.value.problems
    assert problems and problems[0]["field"] == "body" and problems[0]["line"] == 3
    assert problems[0]["fix"]
    assert store.versions("learner", "en")[0].version == 0  # only the built-in text
    assert store.current("en").version == TemplateSet.builtin("en").version


def test_a_body_over_the_limit_is_refused_and_a_long_one_within_it_reads_back_whole(tables: Tables) -> None:
    store = TemplateStore(tables)
    text = builtin()
    filler = "<p>" + "Äpfel und Birnen 🍐 " * 50 + "</p>\n"
    long_body = text.body + "\n" + filler * ((MAX_BODY - len(text.body) - 100) // len(filler))
    assert 20_000 < len(long_body) <= MAX_BODY

    with pytest.raises(TemplateNotSaved) as refused:
        store.put("learner", "en", TemplateText(text.subject, long_body + "x" * (MAX_BODY + 1 - len(long_body))),
                  "avery@contoso.example")
    assert "at most 32,000" in refused.value.problems[0]["message"]

    version = store.put("learner", "en", TemplateText(text.subject, long_body), "avery@contoso.example")
    stored = store.get("learner", "en")
    assert stored is not None and stored.version == version and stored.body == long_body


def test_languages_are_bcp47_tags_in_their_usual_spelling(tables: Tables) -> None:
    store = TemplateStore(tables)

    store.put("learner", "de-ch", edited("Grüezi"), "avery@contoso.example")

    assert store.get("learner", "de-CH") is not None
    assert "de-CH" in store.languages("en")
    with pytest.raises(Exception) as unknown:
        store.put("learner", "klingon-xx-yy", edited("Qapla"), "avery@contoso.example")
    assert "language" in str(unknown.value)
    with pytest.raises(Exception) as role:
        store.put("student", "en", edited("Hi"), "avery@contoso.example")
    assert "learner, primaryInstructor, instructor" in str(role.value)
