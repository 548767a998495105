"""A template rendered for a real offering of the feed in force, as its invitation would read: nothing saved or sent.

The values are those a run gives the role's template (shared/templates/values.py, within the
link rules), for the first session of the offering that has a person of that role, in the
language asked for (shared/planning/rendering.py `preview`).
"""

from __future__ import annotations

from typing import Any, cast

from shared.errors import UnknownOffering
from shared.settings import Settings
from shared.store.tables import Tables
from shared.store.templates import TemplateStore, template_problems
from shared.templates.model import TemplateRole, TemplateText


def _person(activity: Any, offering: Any, role: str) -> tuple[bool, str | None]:
    """Whether the session has a person of this template role, and their name (or address)."""
    if role == "learner":
        enrolled = [e for e in offering.enrollments if e.status in ("active", "completed")]
        return bool(enrolled), (enrolled[0].name or enrolled[0].email) if enrolled else None
    wanted = [i for i in activity.instructors if i.primary == (role == "primaryInstructor")]
    return bool(wanted), (wanted[0].name or wanted[0].email) if wanted else None


def preview(settings: Settings, tables: Tables, *, role: str, language: str, subject: str | None, body: str | None,
            offering_id: str | None, default_language: str) -> dict[str, Any]:
    """{subject, body, problems, offeringId, offeringTitle, activityId, person, language, fallback}."""
    from shared.errors import ConfigurationError
    from shared.feed.reader import read_feed
    from shared.planning.rendering import Renderer
    from shared.planning.rendering import preview as render_preview
    from shared.templates.engine import RenderFailed, TemplateRefused

    in_force = TemplateStore(tables).current(default_language)
    renderer = Renderer.of(in_force)
    choice = renderer.choose(role, language)
    current = in_force.texts[(role, choice.language)]
    text = TemplateText(current.subject if subject is None else subject, current.body if body is None else body)
    answer: dict[str, Any] = {"subject": None, "body": None, "problems": [], "offeringId": None,
                              "offeringTitle": None, "activityId": None, "person": None, "language": language,
                              "fallback": subject is None and body is None and choice.fallback}
    problems = template_problems(role, language, text)
    if problems:
        return {**answer, "problems": problems}
    if not settings.feed:
        raise ConfigurationError("No feed is configured (LEARNCAL_FEED), so there is no offering to preview with.")
    feed = read_feed(settings.feed)
    offerings = [o for o in feed.offerings if o.activities]
    if offering_id is not None:
        offerings = [o for o in offerings if o.id == offering_id]
        if not offerings:
            raise UnknownOffering(f"The feed in force has no offering {offering_id!r} with a session; leave "
                                  "offeringId out to preview with the feed's first offering.")
    if not offerings:
        raise UnknownOffering("The feed in force has no offering with a session to preview with.")
    offering = offerings[0]
    found = [(a, _person(a, offering, role)) for a in offering.activities]
    activity, (_, person) = next(((a, p) for a, p in found if p[0]), found[0])
    answer.update(offeringId=offering.id, offeringTitle=offering.title, activityId=activity.id, person=person)
    try:
        content = render_preview(text, cast(TemplateRole, role), language, offering, activity, templates=in_force,
                                 request_responses=bool(getattr(settings, "request_responses", False)),
                                 person_name=person)
    except TemplateRefused as error:
        return {**answer, "problems": [p.to_json() for p in error.problems]}
    except RenderFailed as error:
        return {**answer, "problems": [{"field": "body", "line": None, "message": f"rendering failed: {error}",
                                        "fix": "check the template against the values of this offering"}]}
    return {**answer, "subject": content.subject, "body": content.body_html}
