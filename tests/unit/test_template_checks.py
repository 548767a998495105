"""Templates checked before they are saved, and contained when they render: hostile texts go nowhere."""

from __future__ import annotations

import time

import pytest

from shared.templates.engine import RenderFailed, TemplateRefused, check_template, compile_text, render_text
from shared.templates.model import TEMPLATE_ROLES, TemplateSet, TemplateText

LINK = "{{ join_url }}"


def problems(subject: str, body: str = LINK, role: str = "learner") -> list[tuple[str, int | None, str]]:
    return [(p.field, p.line, p.message) for p in check_template(role, "en", TemplateText(subject, body))]


def test_every_built_in_template_passes_its_own_check() -> None:
    builtin = TemplateSet.builtin()
    for (role, language), text in builtin.texts.items():
        assert check_template(role, language, text) == [], (role, language)
    assert {lang for _, lang in builtin.texts} == {"en", "de", "fr"}
    assert {role for role, _ in builtin.texts} == set(TEMPLATE_ROLES)


@pytest.mark.parametrize(("source", "message"), [
    ("{{ ''.__class__ }}", "the attribute __class__ is not allowed"),
    ("{{ session_title.__class__.__mro__[1].__subclasses__() }}", "the attribute __subclasses__ is not allowed"),
    ("{{ session_title['__class__'] }}", "the item __class__ is not allowed"),
    ("{{ _private }}", "the name _private is not allowed"),
    ("{% import 'other' as o %}", "{% import %} is not allowed"),
    ("{% from 'other' import x %}", "{% from ... import %} is not allowed"),
    ("{% include 'other' %}", "{% include %} is not allowed"),
    ("{% extends 'base' %}", "{% extends %} is not allowed"),
    ("{% macro loop_forever() %}{{ loop_forever() }}{% endmacro %}", "{% macro %} is not allowed"),
    ("{% set x = session_title ~ session_title %}", "{% set %} is not allowed"),
    ("{% with x = 1 %}{% endwith %}", "{% with %} is not allowed"),
    ("{% for i in range(1000000) %}x{% endfor %}", "range has 1,000,000 numbers"),
    ("{% for i in range(10 ** 9) %}x{% endfor %}", "range must be given whole numbers written in the template"),
    ("{% for c in session_description %}{% endfor %}",
     "a loop may only go over instructor_names or range(...)"),
    ("{% for a in [1, 2] %}{% endfor %}", "a loop may only go over instructor_names or range(...)"),
    ("{% for a in range(2) %}{% for b in range(2) %}{% for c in range(2) %}{% endfor %}{% endfor %}{% endfor %}",
     "loops are nested more than 2 deep"),
    ("{% for n in instructor_names recursive %}{{ loop(n) }}{% endfor %}", "recursive loops are not allowed"),
    ("{{ session_title.ljust(100000000) }}",
     "only range(...) and the text methods capitalize, endswith, lower, startswith, strip, title, upper can be called"),
    ("{{ 'x' * 100000000 }}", "a number above 1,000 in a multiplication or power"),
    ("{{ '%099999999d' % 1 }}", "text formatting with % is not allowed"),
    ("{% autoescape false %}{{ session_title }}{% endautoescape %}", "{% autoescape %} is not allowed"),
    ("{{ session_title|safe }}", "the filter safe is not available"),
    ("{{ lipsum(100000) }}",
     "only range(...) and the text methods capitalize, endswith, lower, startswith, strip, title, upper can be called"),
])
def test_hostile_templates_are_refused_with_the_line(source: str, message: str) -> None:
    found = problems("ok", "line one\n" + source + LINK)
    assert ("body", 2, message) in found


def test_an_unknown_placeholder_is_refused_with_its_line_and_a_suggestion() -> None:
    found = check_template("learner", "de", TemplateText("{{ offering_title }}", "a\nb\n{{ sesion_title }}" + LINK))
    assert [(p.field, p.line, p.message, p.fix) for p in found] == [
        ("body", 3, "unknown placeholder sesion_title",
         "did you mean {{ session_title }}? The placeholders are listed in docs/templates.md")]


def test_a_syntax_error_names_its_line() -> None:
    found = check_template("learner", "fr", TemplateText("ok", "<p>\n{% if join_url %}\n{{ join_url }}\n"))
    assert len(found) == 1 and (found[0].field, found[0].line) == ("body", 3)
    assert found[0].message.startswith("syntax error:") and "endif" in found[0].fix


def test_a_role_template_must_carry_its_link_and_only_the_links_it_receives() -> None:
    assert problems("s", "<p>no link</p>") == [("body", None, "the learner template does not use the link join_url")]
    assert problems("s", "{{ join_url }}", role="primaryInstructor") == [
        ("body", None, "the primaryInstructor template does not use the link host_url")]
    assert problems("s", "{{ host_url }}{{ join_url }}", role="primaryInstructor") == []
    assert problems("s", "<p>no link</p>", role="instructor") == []
    assert problems("s", "{{ host_url }}" + LINK) == [("body", 1, "unknown placeholder host_url")]
    assert problems("s", "{{ join_url }}", role="instructor") == [("body", 1, "unknown placeholder join_url")]


def test_an_unknown_role_or_language_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'trainer' is not a template role; use one of learner, primaryInstructor"):
        check_template("trainer", "en", TemplateText("s", LINK))
    with pytest.raises(ValueError, match="'klingon' is not a language"):
        check_template("learner", "klingon", TemplateText("s", LINK))


def test_an_overlong_template_is_refused() -> None:
    assert problems("s" * 2001) == [("subject", None, "the template is 2,001 characters long")]


def test_rendering_is_contained_in_size_and_kind() -> None:
    loops = TemplateText("s", "{% for i in range(100) %}{% for j in range(100) %}{{ offering_description }}"
                              "{% endfor %}{% endfor %}")
    started = time.monotonic()
    with pytest.raises(RenderFailed, match="the body passed 1,000,000 characters; it was stopped"):
        render_text(loops, {"offering_description": "x" * 200})
    assert time.monotonic() - started < 2
    with pytest.raises(RenderFailed, match="a repeated text or list in a template may not pass 100,000 items"):
        render_text(TemplateText("s", "{{ session_title * 1000 }}"), {"session_title": "y" * 200})
    with pytest.raises(RenderFailed, match="uses a value it does not have: 'nope' is undefined"):
        render_text(TemplateText("s", "{{ nope }}"), {})
    with pytest.raises(TemplateRefused, match="the attribute __globals__ is not allowed"):
        render_text(TemplateText("{{ range.__globals__ }}", "b"), {})


def test_a_render_that_outputs_nothing_is_still_stopped_by_its_time_bound() -> None:
    busy = TemplateText("s", "{% for i in range(100) %}{% for j in range(100) %}"
                             "{% if offering_description|striptags|wordcount > 0 %}{% endif %}{% endfor %}{% endfor %}")
    started = time.monotonic()
    with pytest.raises(RenderFailed, match=r"took longer than 0\.5 s to render; it was stopped"):
        render_text(busy, {"offering_description": "<b>word</b> " * 6000})
    assert time.monotonic() - started < 1.5


def test_the_sandbox_refuses_at_render_time_what_slips_past_a_check() -> None:
    # values are data: a method reached without a call passes the check, and the sandbox hides it
    names: list[str] = []
    with pytest.raises(RenderFailed, match="access to attribute 'append' of 'list' object is unsafe"):
        render_text(TemplateText("s", "{{ instructor_names.append }}"), {"instructor_names": names})
    # the sandbox alone (without the check) refuses to call it
    from jinja2.exceptions import SecurityError, UndefinedError

    from shared.templates.engine import environment

    with pytest.raises((SecurityError, UndefinedError)):
        environment("body").from_string("{{ instructor_names.append('x') }}").render(instructor_names=names)
    assert names == []


def test_a_template_is_compiled_once_per_text() -> None:
    text = TemplateText("a {{ session_title }}", "b " + LINK)
    assert compile_text(text) is compile_text(TemplateText("a {{ session_title }}", "b " + LINK))
    assert compile_text(text).names == frozenset({"session_title", "join_url"})
