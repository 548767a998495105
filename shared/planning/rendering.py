"""One run's rendering: which template and language each invitation gets, rendered once per session and role.

A person's language is their own (enrollment or instructor entry), else the offering's, else
the template set's default. A regional tag (`de-CH`) uses its base language's template with
its own date formats. Without a template for a (role, language) the default language's is
used, and that invitation is counted as a fallback; the run reports the count.

Cost: a template is compiled once per run (cached by set version, role and language), and
everyone of a session who shares role and language shares one rendered content (the values
differ only when a template reads the person's own name). Rendering 510,000 invitations is
thus about rendering each session's few variants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain import Activity, Offering, Role
from shared.planning.content import EventContent, location_for, template_role
from shared.templates.engine import Compiled, RenderFailed, TemplateRefused, compile_text, render_compiled, render_plain
from shared.templates.languages import base_language, normalize_language
from shared.templates.model import FALLBACK_LANGUAGE, TemplateRole, TemplateSet, TemplateText, builtin_phrases
from shared.templates.values import PERSONAL, template_values
from shared.timezones import graph_time_zone

_ContentKey = tuple[str, str, str, str | None]  # activity id, role, language, person name (when read)


@dataclass(frozen=True)
class Choice:
    """The template chosen for a (role, requested language)."""

    language: str  # the template's language key
    locale: str  # the tag whose formats are used
    fallback: bool  # the requested language had no template


@dataclass
class Renderer:
    """Renders one run's invitations through one template set."""

    templates: TemplateSet
    request_responses: bool = False
    fallbacks: int = 0  # invitations rendered in the default language for want of their own
    errors: list[str] = field(default_factory=list)  # templates that failed on some values (built-in used)
    _compiled: dict[tuple[str, str, str], Compiled] = field(default_factory=dict)
    _choices: dict[tuple[str, str], Choice] = field(default_factory=dict)
    _contents: dict[_ContentKey, EventContent] = field(default_factory=dict)
    _slots: dict[tuple[str, str], tuple[Choice, Compiled, bool]] = field(default_factory=dict)
    _offering: str | None = None

    @classmethod
    def of(cls, templates: TemplateSet | None, *, request_responses: bool = False) -> Renderer:
        return cls(templates or TemplateSet.builtin(), request_responses)

    # -- languages --------------------------------------------------------------------------

    def language_for(self, offering: Offering, person_language: str | None) -> str:
        return person_language or offering.language or self.templates.default_language

    def choose(self, role: str, requested: str) -> Choice:
        known = self._choices.get((role, requested))
        if known is None:
            known = self._choices[(role, requested)] = self._choose(role, requested)
        return known

    def _choose(self, role: str, requested: str) -> Choice:
        texts = self.templates.texts
        default = self.templates.default_language
        for candidate in (requested, base_language(requested)):
            if (role, candidate) in texts:
                return Choice(candidate, requested, fallback=False)
        for candidate in (default, base_language(default), FALLBACK_LANGUAGE):
            if (role, candidate) in texts:
                return Choice(candidate, candidate if candidate != base_language(default) else default, True)
        raise LookupError(f"the template set {self.templates.version} has no {role} template, not even in English")

    # -- invitations ------------------------------------------------------------------------

    def content(
        self, offering: Offering, activity: Activity, role: Role, email: str, *,
        person_language: str | None = None, person_name: str | None = None,
    ) -> EventContent:
        """What this person's meeting says; shared with everyone of the session alike."""
        if offering.id != self._offering:
            self._contents.clear()  # contents are shared within an offering only: memory follows the chunk
            self._offering = offering.id
        role_of = template_role(activity, role, email)
        requested = person_language or offering.language or self.templates.default_language
        slot = self._slots.get((role_of, requested))
        if slot is None:
            choice = self.choose(role_of, requested)
            compiled = self._compile(role_of, choice.language)
            slot = self._slots[(role_of, requested)] = (choice, compiled, bool(compiled.names & PERSONAL))
        choice, compiled, personal = slot
        if choice.fallback:
            self.fallbacks += 1
        key = (activity.id, role_of, choice.locale, person_name if personal else None)
        found = self._contents.get(key)
        if found is None:
            found = self._contents[key] = self._render(offering, activity, role_of, choice, compiled,
                                                       person_name)
        return found

    def _compile(self, role: str, language: str) -> Compiled:
        key = (self.templates.version, role, language)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = compile_text(self.templates.texts[(role, language)])
        return compiled

    def _render(self, offering: Offering, activity: Activity, role: TemplateRole, choice: Choice,
                compiled: Compiled, person_name: str | None) -> EventContent:
        location = location_for(activity, self.phrase(choice.language, "online"))
        def values(names: frozenset[str] | None) -> dict[str, object]:
            return template_values(
                offering, activity, role, language=choice.locale, location=location,
                responses_requested=self.request_responses, person_name=person_name, names=names,
            )

        try:
            subject, body = render_compiled(compiled, values(compiled.names))
        except RenderFailed as error:
            # A saved template that fails on this session's values: the built-in wording goes out
            # instead of nothing, and the run names the template.
            self.errors.append(f"{role} template ({choice.language}): {error}")
            builtin = TemplateSet.builtin(self.templates.default_language)
            fallback = builtin.texts.get((role, choice.language)) or builtin.texts[(role, FALLBACK_LANGUAGE)]
            subject, body = render_compiled(compile_text(fallback), values(None))
        return EventContent(
            subject=subject,
            body_html=body,
            start_local=activity.start_local.isoformat(timespec="seconds"),
            end_local=activity.end_local.isoformat(timespec="seconds"),
            time_zone=graph_time_zone(activity.time_zone),
            location=location,
            response_requested=self.request_responses,
        )

    # -- phrases ----------------------------------------------------------------------------

    def phrase(self, language: str, name: str, **values: object) -> str:
        """A phrase in `language` (its base language, else the default, else English)."""
        phrases = self.templates.phrases
        for candidate in (language, base_language(language), self.templates.default_language,
                          base_language(self.templates.default_language), FALLBACK_LANGUAGE):
            text = phrases.get(candidate, {}).get(name)
            if text is not None:
                try:
                    return render_plain(text, values)
                except (RenderFailed, TemplateRefused) as error:
                    # A saved phrase that fails on these values: the built-in words go out instead.
                    self.errors.append(f"phrase {name} ({candidate}): {error}")
                    break
        shipped = builtin_phrases()
        for candidate in (language, base_language(language), FALLBACK_LANGUAGE):
            if name in shipped.get(candidate, {}):
                return render_plain(shipped[candidate][name], values)
        return render_plain(shipped[FALLBACK_LANGUAGE][name], values)

    def cancellation(self, offering: Offering, reason: str, person_language: str | None) -> str:
        """The comment a cancelled person reads, in their language (`reason`: a `cancel.*` phrase's suffix)."""
        language = self.language_for(offering, person_language)
        return self.phrase(language, f"cancel.{reason}", offering_title=offering.title)


def preview(
    text: TemplateText, role: TemplateRole, language: str, offering: Offering, activity: Activity, *,
    templates: TemplateSet | None = None, request_responses: bool = False, person_name: str | None = None,
) -> EventContent:
    """One template text (saved or not) rendered for one session of a real offering, as `role` in `language`.

    For a live preview while editing: the text is checked like a saved one would be (TemplateRefused
    when it would be refused), and renders with exactly the values that role's invitations receive.
    Raises RenderFailed when it fails on this session's values.
    """
    from shared.templates.engine import TemplateRefused, check_template

    problems = check_template(role, language, text)
    if problems:
        raise TemplateRefused(problems)
    renderer = Renderer.of(templates, request_responses=request_responses)
    canonical = normalize_language(language)
    location = location_for(activity, renderer.phrase(canonical, "online"))
    values = template_values(offering, activity, role, language=canonical, location=location,
                             responses_requested=request_responses, person_name=person_name)
    subject, body = render_compiled(compile_text(text), values)
    return EventContent(
        subject=subject, body_html=body, start_local=activity.start_local.isoformat(timespec="seconds"),
        end_local=activity.end_local.isoformat(timespec="seconds"), time_zone=graph_time_zone(activity.time_zone),
        location=location, response_requested=request_responses,
    )
