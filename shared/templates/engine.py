"""Checking and rendering one template text in Jinja2's immutable sandbox.

A template can neither run code nor read anything outside the values given to it, and its
rendering is bounded. Three layers keep it so:

1. `check_template` (and every compile) refuses, with the line and a fix, what could reach
   outside the values or grow without bound: imports, includes and inheritance; macros,
   `set` and `with` (a value built from itself can double with every step); loops that are
   recursive, nested deeper than two, or go over anything but `instructor_names` or a `range`
   of at most 100; names and attributes starting with an underscore; method
   calls other than a few string methods; filters outside a short list; autoescape switched off.
2. The sandbox (`ImmutableSandboxedEnvironment`) checks every attribute and call at render
   time, and the operators that can make large values (`*`, `**`, `%`) are intercepted.
3. Rendering stops when the output passes its size cap or the render its time bound: the
   clock is read at every piece of output, every loop step and every filter call.

The body is autoescaped with the standard library's `html.escape` (so a body reads exactly as
the product's own layout always wrote it); the subject is plain text, its line breaks become
spaces, and it is cut to Graph's 255 UTF-16 units as before. A placeholder a template does not
receive is an error (`StrictUndefined`), never an empty gap.
"""

from __future__ import annotations

import difflib
import functools
import html
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from shared.planning.subject import fit_subject
from shared.templates.model import TEMPLATE_ROLES, TemplateText
from shared.templates.values import BY_ROLE, LIST_VALUES

Field = Literal["subject", "body"]

SOURCE_LIMITS: dict[str, int] = {"subject": 2_000, "body": 100_000}  # characters of template source
OUTPUT_LIMITS: dict[str, int] = {"subject": 10_000, "body": 1_000_000}  # characters rendered
RENDER_SECONDS = 0.5
RANGE_MAX = 100
LOOP_DEPTH_MAX = 2
STRING_METHODS = frozenset({"upper", "lower", "strip", "title", "capitalize", "startswith", "endswith"})
FILTERS = frozenset({
    "e", "escape", "upper", "lower", "title", "capitalize", "trim", "default", "d", "length", "count", "first",
    "last", "join", "replace", "truncate", "striptags", "list", "sort", "reverse", "unique", "int", "string",
    "wordcount", "urlencode", "select", "reject", "paragraphs",
})
# What a role's template must use: the link that role's invitation exists to carry.
REQUIRED: dict[str, tuple[str, ...]] = {
    "learner": ("join_url",),
    "primaryInstructor": ("host_url", "join_url"),
    "instructor": (),
}
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\v\f\x85]+")


@dataclass(frozen=True)
class TemplateProblem:
    """One reason a template is refused: where (field and line, when known) and how to fix it."""

    field: Field
    line: int | None
    message: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "line": self.line, "message": self.message, "fix": self.fix}


class TemplateRefused(ValueError):
    """A template that may not be compiled; `problems` says why."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        first = problems[0]
        where = f" line {first.line}" if first.line else ""
        super().__init__(f"The {first.field}{where}: {first.message}. {first.fix}")


class RenderFailed(RuntimeError):
    """A checked template failed on these values (e.g. a list index past its end, the output cap)."""


# -- the sandbox ----------------------------------------------------------------------------


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with only a few string methods callable and large results refused."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not callable(value) or (isinstance(obj, str) and attr in STRING_METHODS)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("powers above 64 are not allowed in a template")
            return left**right
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > 100_000:
                    raise SecurityError("a repeated text or list in a template may not pass 100,000 items")
            return left * right
        if isinstance(left, str):
            raise SecurityError("text formatting with % is not allowed in a template")
        return left % right


_CLOCK = threading.local()  # the render's deadline, read by every loop step and filter call


def _tick() -> None:
    deadline = getattr(_CLOCK, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise RenderFailed(f"the template took longer than {RENDER_SECONDS} s to render; it was stopped")


def _timed(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        _tick()
        yield item


class _TimedList(list[Any]):
    """A list value whose every loop step checks the render's deadline."""

    def __iter__(self) -> Iterator[Any]:
        return _timed(super().__iter__())


# Messages about a value name its kind as a template author knows it: a list.
_TimedList.__module__, _TimedList.__name__, _TimedList.__qualname__ = "builtins", "list", "list"


def _bounded_range(*args: int) -> Iterator[int]:
    numbers = range(*args)
    if len(numbers) > RANGE_MAX:
        raise SecurityError(f"a range in a template may have at most {RANGE_MAX} numbers")
    return _timed(numbers)


def _ticking(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that first checks the render's deadline (jinja's pass_* markers are kept by wraps)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        _tick()
        return function(*args, **kwargs)

    return call


def _paragraphs(value: Any) -> Markup:
    """Feed text as HTML paragraphs: blank lines part paragraphs, line breaks become <br>; escaped."""
    text = "" if value is None else str(value)
    return Markup("".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.strip().split("\n\n") if p.strip()
    ))


def _guarded_replace(value: Any, old: str, new: str, count: int | None = None) -> Any:
    text = "" if value is None else str(value)
    grows = max(0, len(new) - len(old)) * (text.count(old) if old else len(text) + 1)
    if len(text) + grows > OUTPUT_LIMITS["body"]:
        raise SecurityError("replace would make a text longer than a body may be")
    times = -1 if count is None else count
    if isinstance(value, Markup):
        # escaped text stays escaped: Markup escapes what it puts in (no "&lt;" -> "<" trick)
        return value.replace(str(old), str(new), times)
    return text.replace(old, new, times)


def _finalize_body(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value)))


def _finalize_subject(value: Any) -> Any:
    return "" if value is None else value


@lru_cache(maxsize=2)
def environment(field: Field) -> _Sandbox:
    """One environment per field: the body's escapes, the subject's does not."""
    env = _Sandbox(
        autoescape=field == "body", undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        finalize=_finalize_body if field == "body" else _finalize_subject, auto_reload=False, cache_size=0,
    )
    kept = {name: f for name, f in env.filters.items() if name in FILTERS}
    kept["paragraphs"] = _paragraphs
    kept["replace"] = _guarded_replace
    env.filters = {name: _ticking(f) for name, f in kept.items()}
    env.globals = {"range": _bounded_range}
    return env


# -- checking -------------------------------------------------------------------------------


def check_template(role: str, language: str, text: TemplateText) -> list[TemplateProblem]:
    """Everything that refuses this text as the `role`'s template in `language`; empty when it may be saved.

    `role` must be one of TEMPLATE_ROLES and `language` a BCP 47 tag (ValueError otherwise).
    """
    from shared.templates.languages import normalize_language

    if role not in TEMPLATE_ROLES:
        raise ValueError(f"{role!r} is not a template role; use one of {', '.join(TEMPLATE_ROLES)}")
    normalize_language(language)
    problems: list[TemplateProblem] = []
    used: set[str] = set()
    for field, source in _fields(text):
        found, names = _inspect(field, source)
        problems.extend(found)
        problems.extend(_unknown_names(field, source, names, role))
        used |= names
    if not any(p.message.startswith("syntax error") for p in problems):
        problems.extend(_missing_links(role, used))
    return problems


def _fields(text: TemplateText) -> tuple[tuple[Field, str], ...]:
    return (("subject", text.subject), ("body", text.body))


def _inspect(field: Field, source: str) -> tuple[list[TemplateProblem], set[str]]:
    """Syntax and structure (the role-independent checks), and the placeholder names used."""
    limit = SOURCE_LIMITS[field]
    if len(source) > limit:
        return [TemplateProblem(field, None, f"the template is {len(source):,} characters long",
                                f"keep the {field} template within {limit:,} characters")], set()
    env = environment(field)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as error:
        return [TemplateProblem(field, error.lineno, f"syntax error: {error.message}",
                                "check that every {{ }}, {% %} and {# #} is closed and every "
                                "{% if %} / {% for %} has its {% endif %} / {% endfor %}")], set()
    problems = list(_structure(field, tree))
    try:
        names = set(meta.find_undeclared_variables(tree)) - {"range"}
    except TemplateSyntaxError as error:  # an unknown filter or test, already reported above
        if not problems:
            problems.append(TemplateProblem(field, error.lineno, f"syntax error: {error.message}",
                                            "correct the template"))
        names = set()
    return problems, names


def _structure(field: Field, tree: nodes.Template) -> Iterable[TemplateProblem]:
    env = environment(field)

    def problem(node: nodes.Node, message: str, fix: str) -> TemplateProblem:
        return TemplateProblem(field, getattr(node, "lineno", None), message, fix)

    refused: list[tuple[type[nodes.Node], str, str]] = [
        ((nodes.Extends), "{% extends %} is not allowed", "write the whole template; templates cannot inherit"),
        ((nodes.Include), "{% include %} is not allowed", "write the text into this template"),
        ((nodes.Import), "{% import %} is not allowed", "templates cannot import anything"),
        ((nodes.FromImport), "{% from ... import %} is not allowed", "templates cannot import anything"),
        ((nodes.Macro), "{% macro %} is not allowed", "write the text out where it is needed"),
        ((nodes.CallBlock), "{% call %} is not allowed", "write the text out where it is needed"),
        ((nodes.Assign), "{% set %} is not allowed", "use the placeholder itself, e.g. {{ session_title }}"),
        ((nodes.AssignBlock), "{% set %} is not allowed", "use the placeholder itself"),
        ((nodes.With), "{% with %} is not allowed", "use the placeholder itself"),
        ((nodes.Block), "{% block %} is not allowed", "write the text without blocks"),
        ((nodes.ScopedEvalContextModifier), "{% autoescape %} is not allowed",
         "feed text is always escaped; remove the autoescape block"),
        ((nodes.EvalContextModifier), "autoescape cannot be switched", "remove it"),
    ]
    for kind, message, fix in refused:
        for node in tree.find_all(kind):
            yield problem(node, message, fix)
    yield from _loops(tree, problem, depth=0)
    for node in tree.find_all(nodes.Name):
        if node.name.startswith("_"):
            yield problem(node, f"the name {node.name} is not allowed", "names starting with _ are not available")
    for getattr_node in tree.find_all(nodes.Getattr):
        if getattr_node.attr.startswith("_"):
            yield problem(getattr_node, f"the attribute {getattr_node.attr} is not allowed",
                          "templates read only the placeholders; remove the attribute")
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str) and item.arg.value.startswith("_"):
            yield problem(item, f"the item {item.arg.value} is not allowed", "remove it")
    for call in tree.find_all(nodes.Call):
        yield from _call(call, problem)
    for op in tree.find_all((nodes.Mul, nodes.Pow)):
        if any(isinstance(side, nodes.Const) and isinstance(side.value, int) and side.value > 1000
               for side in (op.left, op.right)):
            yield problem(op, "a number above 1,000 in a multiplication or power",
                          "templates repeat nothing that often; use a smaller number")
    for mod in tree.find_all(nodes.Mod):
        if isinstance(mod.left, nodes.Const) and isinstance(mod.left.value, str):
            yield problem(mod, "text formatting with % is not allowed", "write the placeholders into the text")
    for filt in tree.find_all(nodes.Filter):
        if filt.name not in env.filters:
            yield problem(filt, f"the filter {filt.name} is not available",
                          f"use one of: {', '.join(sorted(env.filters))}")
    for test in tree.find_all(nodes.Test):
        if test.name not in env.tests:
            yield problem(test, f"the test {test.name} is not available",
                          f"use one of: {', '.join(sorted(env.tests))}")


def _call(call: nodes.Call, problem: Any) -> Iterable[TemplateProblem]:
    target = call.node
    if isinstance(target, nodes.Name) and target.name == "range":
        numbers = [a.value for a in call.args if isinstance(a, nodes.Const)]
        if (len(numbers) != len(call.args) or not 1 <= len(numbers) <= 3 or call.kwargs
                or not all(type(n) is int for n in numbers)):
            yield problem(call, "range must be given whole numbers written in the template",
                          f"write e.g. range(3); at most {RANGE_MAX} numbers")
        elif len(range(*numbers)) > RANGE_MAX:
            yield problem(call, f"range has {len(range(*numbers)):,} numbers", f"use at most {RANGE_MAX}")
    elif isinstance(target, nodes.Getattr) and target.attr in STRING_METHODS:
        return
    else:
        yield problem(call, "only range(...) and the text methods "
                      f"{', '.join(sorted(STRING_METHODS))} can be called",
                      "use a filter instead, e.g. {{ session_title|upper }}")


def _loops(node: nodes.Node, problem: Any, depth: int) -> Iterable[TemplateProblem]:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.For):
            if child.recursive:
                yield problem(child, "recursive loops are not allowed", "remove `recursive`")
            if depth + 1 > LOOP_DEPTH_MAX:
                yield problem(child, f"loops are nested more than {LOOP_DEPTH_MAX} deep",
                              f"nest at most {LOOP_DEPTH_MAX} loops")
            if not isinstance(child.iter, nodes.Expr) or not _bounded_iterable(child.iter):
                yield problem(child, "a loop may only go over instructor_names or range(...)",
                              "e.g. {% for name in instructor_names %}")
            yield from _loops(child, problem, depth + 1)
        else:
            yield from _loops(child, problem, depth)


def _bounded_iterable(node: nodes.Expr) -> bool:
    """A list value or a range: both check the render's deadline at every step."""
    while isinstance(node, nodes.Filter) and node.name in ("sort", "reverse", "unique", "list", "select", "reject"):
        if node.node is None:
            return False
        node = node.node
    if isinstance(node, nodes.Name):
        return node.name in LIST_VALUES
    return isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range"


def _unknown_names(field: Field, source: str, names: set[str], role: str) -> Iterable[TemplateProblem]:
    known = BY_ROLE[role]
    unknown = sorted(names - known)
    if not unknown:
        return
    tree = environment(field).parse(source)
    lines: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        if node.name in unknown and node.ctx == "load":
            lines.setdefault(node.name, node.lineno)
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        if name in ("join_url", "host_url"):
            fix = f"the {role} template does not receive {name} (the link rules); remove it"
        elif close:
            fix = f"did you mean {{{{ {close[0]} }}}}? The placeholders are listed in docs/templates.md"
        else:
            fix = f"use one of: {', '.join(sorted(known))}"
        yield TemplateProblem(field, lines.get(name), f"unknown placeholder {name}", fix)


def _missing_links(role: str, used: set[str]) -> Iterable[TemplateProblem]:
    for name in REQUIRED[role]:
        if name not in used:
            yield TemplateProblem(
                "body", None, f"the {role} template does not use the link {name}",
                f'add it to the body, e.g. {{% if {name} %}}<a href="{{{{ {name} }}}}">'
                f'{{{{ {name} }}}}</a>{{% endif %}}',
            )


# -- phrases --------------------------------------------------------------------------------

PHRASE_MAX = 300  # characters of a phrase's source: a location line or a one-sentence comment
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?]|&[A-Za-z#][A-Za-z0-9]*;")


def check_phrase(name: str, source: str) -> list[TemplateProblem]:
    """Everything that refuses `source` as the phrase `name` (a key of PHRASES); empty when it may be saved.

    A phrase is a one-line plain-text template: Outlook shows a location and a cancellation
    comment as written, so markup would show as tags, and a line break has nowhere to go.
    The engine's rules are those of a subject; the placeholders are the phrase's own.
    """
    from shared.templates.model import PHRASE_VALUES

    known = PHRASE_VALUES[name]
    if not source.strip():
        return [TemplateProblem("subject", 1, "is empty", "write the words, or leave the key out to keep the "
                                "current text (null goes back to the built-in text)")]
    if len(source) > PHRASE_MAX:
        return [TemplateProblem("subject", None, f"is {len(source):,} characters long",
                                f"keep a phrase within {PHRASE_MAX} characters: one short sentence")]
    problems: list[TemplateProblem] = []
    if _LINE_BREAKS.search(source):
        problems.append(TemplateProblem("subject", 2, "has a line break; a phrase is one line of text",
                                        "put the phrase on one line"))
    markup = _MARKUP.search(source)
    if markup:
        line = source.count("\n", 0, markup.start()) + 1
        problems.append(TemplateProblem("subject", line, f"has markup ({markup.group(0).strip()}…); a phrase is "
                                        "plain text and Outlook would show the tags", "write plain text, no HTML"))
    found, names = _inspect("subject", source)
    problems.extend(found)
    unknown = sorted(names - known)
    if unknown:
        tree = environment("subject").parse(source)
        lines = {node.name: node.lineno for node in tree.find_all(nodes.Name) if node.name in unknown}
        for unknown_name in unknown:
            fix = (f"use {', '.join('{{ ' + k + ' }}' for k in sorted(known))}" if known
                   else "this phrase receives no placeholders; write plain words")
            problems.append(TemplateProblem("subject", lines.get(unknown_name),
                                            f"unknown placeholder {unknown_name}", fix))
    return problems


# -- compiling and rendering ----------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """A checked text compiled once; `names` are the placeholders it reads."""

    subject: Any
    body: Any
    names: frozenset[str]


@lru_cache(maxsize=512)
def compile_text(text: TemplateText) -> Compiled:
    """Compile both fields after the role-independent checks (TemplateRefused when they fail).

    Cached by the text itself: a run compiles each template once, however many invitations use it.
    """
    compiled = []
    names: set[str] = set()
    problems: list[TemplateProblem] = []
    for field, source in _fields(text):
        found, used = _inspect(field, source)
        problems.extend(found)
        names |= used
        if not found:
            try:
                compiled.append(environment(field).from_string(source))
            except TemplateSyntaxError as error:
                problems.append(TemplateProblem(field, error.lineno, f"syntax error: {error.message}",
                                                "correct the template"))
    if problems:
        raise TemplateRefused(problems)
    return Compiled(compiled[0], compiled[1], frozenset(names))


def render_text(text: TemplateText, values: Mapping[str, object]) -> tuple[str, str]:
    """(subject, body html) of one text with these values; TemplateRefused or RenderFailed when it cannot."""
    return render_compiled(compile_text(text), values)


def render_compiled(compiled: Compiled, values: Mapping[str, object]) -> tuple[str, str]:
    subject = _run(compiled.subject, values, "subject")
    body = _run(compiled.body, values, "body")
    return fit_subject(_LINE_BREAKS.sub(" ", subject).strip()), body


def render_plain(source: str, values: Mapping[str, object]) -> str:
    """A short plain-text template (a phrase such as a cancellation comment), one line."""
    return _LINE_BREAKS.sub(" ", _run(_compile_plain(source), values, "subject")).strip()


@lru_cache(maxsize=256)
def _compile_plain(source: str) -> Any:
    found, _names = _inspect("subject", source)
    if found:
        raise TemplateRefused(found)
    return environment("subject").from_string(source)


def _run(template: Any, values: Mapping[str, object], field: Field) -> str:
    limit = OUTPUT_LIMITS[field]
    deadline = time.monotonic() + RENDER_SECONDS
    parts: list[str] = []
    size = 0
    timed = {name: _TimedList(v) if type(v) is list else v for name, v in values.items()}
    before, _CLOCK.deadline = getattr(_CLOCK, "deadline", None), deadline
    try:
        for chunk in template.generate(timed):
            size += len(chunk)
            if size > limit:
                raise RenderFailed(f"the {field} passed {limit:,} characters; it was stopped")
            parts.append(chunk)
            if time.monotonic() > deadline:
                raise RenderFailed(f"the {field} took longer than {RENDER_SECONDS} s to render; it was stopped")
    except UndefinedError as error:
        raise RenderFailed(f"the {field} uses a value it does not have: {error.message}") from None
    except (SecurityError, TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as error:
        if isinstance(error, RenderFailed):
            raise
        raise RenderFailed(f"the {field} could not be rendered: {error}") from None
    finally:
        _CLOCK.deadline = before
    return "".join(parts)
