"""A language's phrases checked before they are saved, and what an edited phrase does where it lands.

The "Online" phrase becomes a virtual session's location, which a body shows as `location`:
feed-independent words, yet still escaped there like any value. Expected texts are written out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.feed.reader import parse_feed
from shared.planning.desired import desired_state
from shared.planning.rendering import Renderer
from shared.store.templates import phrase_problems
from shared.templates.engine import check_phrase
from shared.templates.model import PHRASES, TemplateSet, builtin_phrases
from tests.support.dates import today

NOW = datetime.now(UTC)
LEA = "lea@contoso.example"


def feed(**offering: Any) -> Any:
    day = today() + timedelta(days=20)
    return parse_feed({"schemaVersion": 1, "offerings": [{
        "id": "OFF-9", "title": "Safety <First>", "status": "active", **offering,
        "activities": [{
            "id": "S-1", "title": "Drill", "start": f"{day.isoformat()}T09:00:00",
            "end": f"{day.isoformat()}T10:00:00", "timeZone": "Europe/Berlin",
            "location": {"kind": "virtual", "joinUrl": "https://meet.example.com/j/9"},
            "instructors": [{"email": "pia@contoso.example", "primary": True}],
        }],
        "enrollments": [{"learnerEmail": LEA, "status": "active"}],
    }]})


def learner_content(templates: TemplateSet, **offering: Any) -> Any:
    state = desired_state(feed(**offering), now=NOW, templates=templates)
    return next(inv.content for key, inv in state.wanted.items() if key.email == LEA)


def test_every_shipped_phrase_passes_its_own_check() -> None:
    for language, words in builtin_phrases().items():
        assert set(words) == set(PHRASES), language
        for name, text in words.items():
            assert check_phrase(name, text) == [], (language, name)


def test_an_unknown_placeholder_is_refused_with_its_key_line_and_the_known_one() -> None:
    found = phrase_problems({"cancel.withdrew": "Sie haben {{ angebot }} verlassen.", "online": "Online"})

    assert found == [{"field": "phrases.cancel.withdrew", "line": 1, "message": "unknown placeholder angebot",
                      "fix": "use {{ offering_title }}"}]
    online = phrase_problems({"online": "Online ({{ offering_title }})"})
    assert [(p["field"], p["message"]) for p in online] == [("phrases.online", "unknown placeholder offering_title")]
    assert "no placeholders" in online[0]["fix"]


def test_an_unknown_key_is_refused_with_the_keys_there_are() -> None:
    found = phrase_problems({"cancel.bye": "Tschüss"})

    assert [(p["field"], p["message"]) for p in found] == [("phrases.cancel.bye", "'cancel.bye' is not a phrase")]
    assert "cancel.withdrew" in found[0]["fix"] and "online" in found[0]["fix"]


@pytest.mark.parametrize(("source", "line"), [
    ("Abgesagt {% if offering_title %}", 1),
    ("„{{ offering_title ” wurde abgesagt.", 1),
    ("Abgesagt.\n{% endif %}", 2),
])
def test_a_syntax_error_is_refused_with_its_line(source: str, line: int) -> None:
    found = check_phrase("cancel.offeringCancelled", source)

    errors = [p for p in found if p.message.startswith("syntax error")]
    assert [p.line for p in errors] == [line], found
    assert "{% endif %}" in errors[0].fix
    assert [p["line"] for p in phrase_problems({"cancel.offeringCancelled": source})
            if p["message"].startswith("syntax error")] == [line]


def test_markup_and_line_breaks_are_refused_as_outlook_would_show_them() -> None:
    assert [p.message for p in check_phrase("online", "<b>Online</b>")] == [
        "has markup (<b…); a phrase is plain text and Outlook would show the tags"]
    assert check_phrase("online", "Online &nbsp;")[0].message.startswith("has markup (&nbsp;")
    assert [(p.line, p.message) for p in check_phrase("online", "On\nline")] == [
        (2, "has a line break; a phrase is one line of text")]
    assert [p.message for p in check_phrase("online", "  ")] == ["is empty"]
    assert check_phrase("online", "x" * 301)[0].message == "is 301 characters long"


def test_an_edited_online_phrase_is_escaped_in_the_body_and_kept_plain_as_the_location() -> None:
    words = 'Online & vor Ort > Raum "B"'
    assert check_phrase("online", words) == []  # no tag, no entity: plain text that may be saved
    templates = TemplateSet.builtin().with_phrases({"de": {"online": words}})

    content = learner_content(templates, language="de")

    assert content.location == words
    assert "<p><b>Ort:</b> Online &amp; vor Ort &gt; Raum &quot;B&quot;</p>" in content.body_html
    english = learner_content(templates)
    assert english.location == "Online" and "<p><b>Location:</b> Online</p>" in english.body_html


def test_markup_in_a_phrase_that_skipped_the_check_is_still_escaped_in_the_body() -> None:
    templates = TemplateSet.builtin().with_phrases({"en": {"online": "<script>alert(1)</script>"}})

    content = learner_content(templates)

    assert "<script>" not in content.body_html
    assert "<p><b>Location:</b> &lt;script&gt;alert(1)&lt;/script&gt;</p>" in content.body_html


def test_an_edited_cancellation_comment_names_the_offering_as_plain_text_in_its_language_only() -> None:
    edited = "Abmeldung von „{{ offering_title }}“ erhalten."
    templates = TemplateSet.builtin().with_phrases({"de": {"cancel.withdrew": edited}})
    renderer = Renderer.of(templates)
    offering = feed().offerings[0]

    assert renderer.cancellation(offering, "withdrew", "de") == "Abmeldung von „Safety <First>“ erhalten."
    assert renderer.cancellation(offering, "withdrew", "de-AT") == "Abmeldung von „Safety <First>“ erhalten."
    assert renderer.cancellation(offering, "withdrew", "fr") == "Vous vous êtes désinscrit(e) de cette offre."
    assert renderer.cancellation(offering, "sessionCancelled", "de") == "Diese Sitzung wurde abgesagt."
    assert renderer.errors == []
