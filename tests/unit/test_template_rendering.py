"""Invitations rendered through the templates: every placeholder in every shipped language, escaping,
sessions over midnight, half-hour zones, fallbacks and the link rules per role.

The expected texts are written out here: day and month names come from the tables below
(written from the languages themselves, not from a locale library), and the built-in bodies
are spelt out whole.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import InvitationKey
from shared.feed.reader import parse_feed
from shared.planning.desired import desired_state
from shared.planning.plan import Update, plan
from shared.planning.sent import SentRecord
from shared.templates.model import TemplateSet, TemplateText
from tests.support.dates import today

NOW = datetime.now(UTC)
LEA, PIA, IAN = "lea@contoso.example", "pia@contoso.example", "ian@contoso.example"

EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DE_DAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
FR_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
DE_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember"]
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre"]


def session_day() -> date:
    """A day about five weeks ahead, never the 1st (French writes "1er" in some forms) nor the last."""
    day = today() + timedelta(days=35)
    while day.day == 1 or (day + timedelta(days=1)).day == 1:
        day += timedelta(days=1)
    return day


def full_date(day: date, language: str) -> str:
    wd, d, m, y = day.weekday(), day.day, day.month - 1, day.year
    return {
        "en": f"{EN_DAYS[wd]}, {EN_MONTHS[m]} {d}, {y}",
        "de": f"{DE_DAYS[wd]}, {d}. {DE_MONTHS[m]} {y}",
        "fr": f"{FR_DAYS[wd]} {d} {FR_MONTHS[m]} {y}",
    }[language]


def feed(*, zone: str = "Asia/Kolkata", start: str = "22:30", end: str = "01:00", end_days: int = 1,
         offering: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
         learners: list[dict[str, Any]] | None = None, instructors: list[dict[str, Any]] | None = None) -> Any:
    day = session_day()
    return parse_feed({
        "schemaVersion": 1,
        "offerings": [{
            "id": "OFF-7", "title": "Safety First", "courseTitle": "Workplace Safety", "status": "active",
            "description": "Bring your badge.\n\nCoffee at 9.", "detailsUrl": "https://learning.example.com/o/7",
            **(offering or {}),
            "activities": [{
                "id": "S-1", "title": "Evacuation drill", "description": "Meet at the door.",
                "start": f"{day.isoformat()}T{start}:00",
                "end": f"{(day + timedelta(days=end_days)).isoformat()}T{end}:00", "timeZone": zone,
                "location": {"kind": "virtual", "joinUrl": "https://meet.example.com/j/7",
                             "hostUrl": "https://meet.example.com/h/7"},
                "instructors": instructors if instructors is not None else [
                    {"email": PIA, "name": "Pia Primary", "primary": True}, {"email": IAN, "name": "Ian Other"}],
                **(session or {}),
            }],
            "enrollments": learners if learners is not None else [
                {"learnerEmail": LEA, "learnerName": "Lea Learner", "status": "active"}],
        }],
    })


def contents(the_feed: Any, templates: TemplateSet | None = None, **kw: Any) -> dict[str, Any]:
    state = desired_state(the_feed, now=NOW, templates=templates, **kw)
    assert not the_feed.rejections, the_feed.rejections
    return {key.email: inv.content for key, inv in state.wanted.items()}


# -- the built-in texts ------------------------------------------------------------------------

CLOSING = {
    "en": "<p><i>Sent by the learning system. No response is needed; changes are made there.</i></p>",
    "de": "<p><i>Vom Lernsystem gesendet. Eine Antwort ist nicht nötig; Änderungen werden dort vorgenommen.</i></p>",
    "fr": "<p><i>Envoyé par le système de formation. Aucune réponse n\u2019est nécessaire\u00a0; les modifications "
          "se font dans ce système.</i></p>",
}


def test_the_built_in_english_bodies_keep_the_product_layout() -> None:
    got = contents(feed())
    head = ("<html><body><p><b>Course:</b> Workplace Safety</p>")
    texts = "<p>Bring your badge.</p><p>Coffee at 9.</p><p>Meet at the door.</p><p><b>Location:</b> Online</p>"
    details = ('<p><b>Details:</b> <a href="https://learning.example.com/o/7">https://learning.example.com/o/7</a>'
               "</p>")
    tail = CLOSING["en"] + "</body></html>"
    assert got[LEA].body_html == (head + texts + '<p><b>Join the session:</b> <a href="https://meet.example.com/j/7">'
                                  'https://meet.example.com/j/7</a></p>' + details + tail)
    assert got[PIA].body_html == (head + "<p>You are an instructor for this session.</p>" + texts
                                  + '<p><b>Start the session (host link):</b> <a href="https://meet.example.com/h/7">'
                                  'https://meet.example.com/h/7</a></p>' + details + tail)
    assert got[IAN].body_html == head + "<p>You are an instructor for this session.</p>" + texts + details + tail
    assert {c.subject for c in got.values()} == {"Safety First: Evacuation drill"}
    assert {c.location for c in got.values()} == {"Online"}


def test_the_built_in_german_bodies() -> None:
    got = contents(feed(offering={"language": "de"}))
    head = "<html><body><p><b>Kurs:</b> Workplace Safety</p>"
    texts = "<p>Bring your badge.</p><p>Coffee at 9.</p><p>Meet at the door.</p><p><b>Ort:</b> Online</p>"
    details = ('<p><b>Details:</b> <a href="https://learning.example.com/o/7">https://learning.example.com/o/7</a>'
               "</p>")
    tail = CLOSING["de"] + "</body></html>"
    lead = "<p>Sie sind für diese Sitzung als Lehrkraft eingeplant.</p>"
    assert got[LEA].body_html == (head + texts + '<p><b>An der Sitzung teilnehmen:</b> '
                                  '<a href="https://meet.example.com/j/7">https://meet.example.com/j/7</a></p>'
                                  + details + tail)
    assert got[PIA].body_html == (head + lead + texts + '<p><b>Sitzung starten (Host-Link):</b> '
                                  '<a href="https://meet.example.com/h/7">https://meet.example.com/h/7</a></p>'
                                  + details + tail)
    assert got[IAN].body_html == head + lead + texts + details + tail
    assert got[LEA].subject == "Safety First: Evacuation drill"


def test_the_built_in_french_bodies_and_the_translated_online_location() -> None:
    got = contents(feed(offering={"language": "fr"}))
    nb = "\u00a0"
    head = f"<html><body><p><b>Cours{nb}:</b> Workplace Safety</p>"
    texts = f"<p>Bring your badge.</p><p>Coffee at 9.</p><p>Meet at the door.</p><p><b>Lieu{nb}:</b> En ligne</p>"
    details = (f'<p><b>Détails{nb}:</b> <a href="https://learning.example.com/o/7">https://learning.example.com/o/7'
               "</a></p>")
    tail = CLOSING["fr"] + "</body></html>"
    lead = "<p>Vous êtes formateur ou formatrice pour cette session.</p>"
    assert got[LEA].body_html == (head + texts + f'<p><b>Rejoindre la session{nb}:</b> '
                                  '<a href="https://meet.example.com/j/7">https://meet.example.com/j/7</a></p>'
                                  + details + tail)
    assert got[PIA].body_html == (head + lead + texts + f'<p><b>Démarrer la session (lien animateur){nb}:</b> '
                                  '<a href="https://meet.example.com/h/7">https://meet.example.com/h/7</a></p>'
                                  + details + tail)
    assert got[IAN].body_html == head + lead + texts + details + tail
    assert {c.location for c in got.values()} == {"En ligne"}


def test_asking_for_responses_changes_the_closing_in_every_language() -> None:
    asks = {
        "en": "Please accept or decline this invitation; changes to the session are still made in the learning system.",
        "de": "Bitte nehmen Sie diese Einladung an oder lehnen Sie sie ab; Änderungen an der Sitzung werden "
              "weiterhin im Lernsystem vorgenommen.",
        "fr": "Merci d\u2019accepter ou de refuser cette invitation\u00a0; les modifications de la session se font "
              "toujours dans le système de formation.",
    }
    for language, wording in asks.items():
        got = contents(feed(offering={"language": language}), request_responses=True)
        assert all(c.body_html.endswith(f"{wording}</i></p></body></html>") for c in got.values()), language
        assert all(c.response_requested for c in got.values())


# -- every placeholder, every language --------------------------------------------------------

ALL = [
    "offering_title", "course_title", "offering_description", "session_title", "session_description", "start",
    "end", "start_date", "start_time", "end_date", "end_time", "ends_same_day", "time_zone", "time_zone_name",
    "location", "location_kind", "location_name", "location_address", "details_url", "instructor_names",
    "primary_instructor_name", "person_name", "language", "responses_requested",
]


def every_placeholder(names: list[str]) -> TemplateText:
    body = "".join(f"[{n}={{{{ {n} }}}}]" for n in names)
    return TemplateText(subject="{{ session_title }} / {{ start_date }}", body=body)


def fields(body: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in body.strip("[]").split("]["))


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_every_placeholder_in_every_shipped_language(language: str) -> None:
    learner_names = [*ALL, "join_url"]
    primary_names = [*ALL, "join_url", "host_url"]
    texts = {("learner", language): every_placeholder(learner_names),
             ("primaryInstructor", language): every_placeholder(primary_names),
             ("instructor", language): every_placeholder(ALL)}
    templates = TemplateSet.builtin().with_texts(texts)
    got = contents(feed(learners=[{"learnerEmail": LEA, "learnerName": "Lea Learner", "status": "active",
                                   "language": language}],
                        instructors=[{"email": PIA, "name": "Pia Primary", "primary": True, "language": language},
                                     {"email": IAN, "name": "Ian Other", "language": language}]), templates)
    day = session_day()
    start_time, end_time = ("10:30\u202fPM", "1:00\u202fAM") if language == "en" else ("22:30", "01:00")
    zone_name = {"en": "India Standard Time", "de": "Indische Normalzeit", "fr": "heure de l\u2019Inde"}[language]
    online = {"en": "Online", "de": "Online", "fr": "En ligne"}[language]
    expected = {
        "offering_title": "Safety First", "course_title": "Workplace Safety",
        "offering_description": "Bring your badge.\n\nCoffee at 9.", "session_title": "Evacuation drill",
        "session_description": "Meet at the door.",
        "start": f"{full_date(day, language)}, {start_time}",
        "end": f"{full_date(day + timedelta(days=1), language)}, {end_time}",
        "start_date": full_date(day, language), "start_time": start_time,
        "end_date": full_date(day + timedelta(days=1), language), "end_time": end_time,
        "ends_same_day": "False", "time_zone": "Asia/Kolkata", "time_zone_name": zone_name,
        "location": online, "location_kind": "virtual", "location_name": "", "location_address": "",
        "details_url": "https://learning.example.com/o/7", "instructor_names": "[&#x27;Pia Primary&#x27;, "
        "&#x27;Ian Other&#x27;]", "primary_instructor_name": "Pia Primary", "language": language,
        "responses_requested": "False",
    }
    assert fields(got[LEA].body_html) == {**expected, "person_name": "Lea Learner",
                                          "join_url": "https://meet.example.com/j/7"}
    assert fields(got[PIA].body_html) == {**expected, "person_name": "Pia Primary",
                                          "join_url": "https://meet.example.com/j/7",
                                          "host_url": "https://meet.example.com/h/7"}
    assert fields(got[IAN].body_html) == {**expected, "person_name": "Ian Other"}
    assert got[LEA].subject == f"Evacuation drill / {full_date(day, language)}"


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Australia/Adelaide"])
def test_half_hour_zones_show_their_own_wall_clock_and_name(zone: str) -> None:
    text = TemplateText("{{ start_time }}-{{ end_time }}",
                        "{{ start }}|{{ end }}|{{ time_zone_name }}|{{ ends_same_day }}{{ join_url }}")
    day = session_day()
    summer = ZoneInfo(zone).dst(datetime.combine(day, datetime.min.time())) != timedelta(0)
    names = {
        "Asia/Kolkata": {"en": "India Standard Time", "de": "Indische Normalzeit", "fr": "heure de l\u2019Inde"},
        "Australia/Adelaide": (
            {"en": "Australian Central Daylight Time", "de": "Zentralaustralische Sommerzeit",
             "fr": "heure d\u2019été du centre de l\u2019Australie"} if summer else
            {"en": "Australian Central Standard Time", "de": "Zentralaustralische Normalzeit",
             "fr": "heure normale du centre de l\u2019Australie"}),
    }[zone]
    for language in ("en", "de", "fr"):
        templates = TemplateSet.builtin().with_texts({("learner", language): text})
        got = contents(feed(zone=zone, start="09:30", end="11:45", end_days=0, offering={"language": language}),
                       templates)[LEA]
        clock = ("9:30\u202fAM", "11:45\u202fAM") if language == "en" else ("09:30", "11:45")
        assert got.subject == f"{clock[0]}-{clock[1]}"
        assert got.body_html == (f"{full_date(day, language)}, {clock[0]}|{full_date(day, language)}, {clock[1]}|"
                                 f"{names[language]}|True" + "https://meet.example.com/j/7")
        assert (got.start_local, got.time_zone) == (f"{day.isoformat()}T09:30:00", got.time_zone)


def test_a_session_crossing_midnight_ends_on_the_next_day() -> None:
    text = TemplateText("s", "{% if ends_same_day %}same{% else %}{{ start_date }} to {{ end_date }} "
                             "{{ end_time }}{% endif %}{{ join_url }}")
    templates = TemplateSet.builtin().with_texts({("learner", "de"): text})
    got = contents(feed(zone="Asia/Kolkata", start="23:30", end="00:30", end_days=1, offering={"language": "de"}),
                   templates)[LEA]
    day = session_day()
    assert got.body_html == (f"{full_date(day, 'de')} to {full_date(day + timedelta(days=1), 'de')} 00:30"
                             "https://meet.example.com/j/7")
    assert got.end_local == f"{(day + timedelta(days=1)).isoformat()}T00:30:00"


# -- escaping ---------------------------------------------------------------------------------


def test_markup_in_feed_text_is_escaped_in_the_body_and_kept_plain_in_the_subject() -> None:
    hostile = '<script>alert("x")</script> & \'q\''
    got = contents(feed(offering={"title": hostile, "courseTitle": "<b>C</b>", "description": "<i>d</i>\nline"},
                        session={"title": "<img src=x>",
                                 "location": {"kind": "classroom", "name": "<u>Room</u>", "address": "A & B",
                                              "joinUrl": "https://meet.example.com/j/7?a=1&b=\"2\""}}))
    body = got[LEA].body_html
    assert "<script>" not in body and "<b>C</b>" not in body and "<u>" not in body
    assert "<p><b>Course:</b> &lt;b&gt;C&lt;/b&gt;</p>" in body
    assert "<p>&lt;i&gt;d&lt;/i&gt;<br>line</p>" in body
    assert "<p><b>Location:</b><br>&lt;u&gt;Room&lt;/u&gt;<br>A &amp; B</p>" in body
    assert ('<a href="https://meet.example.com/j/7?a=1&amp;b=&quot;2&quot;">'
            'https://meet.example.com/j/7?a=1&amp;b=&quot;2&quot;</a>') in body
    assert got[LEA].subject == hostile + ": <img src=x>"  # plain text: Outlook shows it as written


def test_an_edited_template_cannot_unescape_feed_text() -> None:
    text = TemplateText("{{ session_title }}", "{{ session_title }}|{{ session_title|e }}|"
                        "{{ session_title|replace('<', '<') }}|{{ session_title|e|replace('&lt;', '<') }}|"
                        "{{ offering_description|paragraphs|replace('&lt;', '<') }}{{ join_url }}")
    templates = TemplateSet.builtin().with_texts({("learner", "en"): text})
    got = contents(feed(session={"title": "<b>x</b>"}, offering={"description": "<i>y</i>"}), templates)[LEA]
    assert got.body_html == ("&lt;b&gt;x&lt;/b&gt;|&lt;b&gt;x&lt;/b&gt;|&lt;b&gt;x&lt;/b&gt;|&lt;b&gt;x&lt;/b&gt;|"
                             "<p>&lt;i&gt;y&lt;/i&gt;</p>https://meet.example.com/j/7")
    assert got.subject == "<b>x</b>"


def test_a_subject_template_gives_one_line_cut_to_the_limit() -> None:
    text = TemplateText("{{ session_title }}\n{{ offering_title }}\r\n{{ session_description }}", "{{ join_url }}")
    templates = TemplateSet.builtin().with_texts({("learner", "en"): text})
    short = contents(feed(session={"title": "A" * 20, "description": "two\nlines"}), templates)[LEA]
    assert short.subject == "A" * 20 + " Safety First two lines"
    long = contents(feed(session={"title": "A" * 250, "description": "two\nlines"}), templates)[LEA]
    assert long.subject == "A" * 250 + " Saf\u2026"  # 255 UTF-16 units with the ellipsis


# -- languages: resolution, fallback, cancellation, key fields ------------------------------


def test_a_persons_language_beats_the_offerings_and_a_region_uses_its_base_template() -> None:
    got = contents(feed(offering={"language": "fr"},
                        learners=[{"learnerEmail": LEA, "status": "active", "language": "de-CH"},
                                  {"learnerEmail": "max@contoso.example", "status": "active"}]))
    assert "<b>Kurs:</b>" in got[LEA].body_html
    assert "<b>Cours\u00a0:</b>" in got["max@contoso.example"].body_html


def test_a_language_without_a_template_falls_back_to_the_default_and_is_counted() -> None:
    the_feed = feed(learners=[{"learnerEmail": LEA, "status": "active", "language": "es"},
                              {"learnerEmail": "max@contoso.example", "status": "active", "language": "fr"}],
                    instructors=[{"email": PIA, "primary": True, "language": "it"}])
    state = desired_state(the_feed, now=NOW, templates=TemplateSet.builtin("de"))
    got = {k.email: inv.content for k, inv in state.wanted.items()}
    assert "<b>Kurs:</b>" in got[LEA].body_html  # Spanish: none shipped, the default (German) instead
    assert "<b>Kurs:</b>" in got[PIA].body_html
    assert "<b>Cours\u00a0:</b>" in got["max@contoso.example"].body_html
    assert state.template_fallbacks == 2


def test_no_language_anywhere_uses_the_default_without_counting_a_fallback() -> None:
    state = desired_state(feed(), now=NOW, templates=TemplateSet.builtin("fr"))
    assert state.template_fallbacks == 0
    assert all("<b>Cours\u00a0:</b>" in inv.content.body_html for inv in state.wanted.values())


def test_cancellation_comments_are_in_the_persons_language() -> None:
    before = feed(learners=[{"learnerEmail": LEA, "status": "active", "language": "de"},
                            {"learnerEmail": "max@contoso.example", "status": "active", "language": "fr"},
                            {"learnerEmail": "eve@contoso.example", "status": "active"}])
    after = feed(learners=[{"learnerEmail": LEA, "status": "withdrawn", "language": "de"},
                           {"learnerEmail": "max@contoso.example", "status": "cancelled", "language": "fr"},
                           {"learnerEmail": "eve@contoso.example", "status": "withdrawn"}],
                 offering={"language": "en"})
    sent = {key: SentRecord(key, "org@contoso.example", inv.role, "live", inv.key_fp, inv.content.hashes(),
                            inv.start_utc, inv.end_utc, "E-" + key.email)
            for key, inv in desired_state(before, now=NOW).wanted.items()}
    actions = plan(desired_state(after, now=NOW), sent, organizer="org@contoso.example", now=NOW)
    comments = {a.key.email: a.comment for a in actions.actions if hasattr(a, "comment")}
    assert comments == {LEA: "Sie haben sich von diesem Angebot abgemeldet.",
                        "max@contoso.example": "Votre inscription à cette offre a été annulée.",
                        "eve@contoso.example": "You withdrew from this offering."}
    cancelled = feed(offering={"status": "cancelled", "language": "fr"})
    gone = plan(desired_state(cancelled, now=NOW), sent, organizer="org@contoso.example", now=NOW)
    assert {a.key.email: a.comment for a in gone.actions if hasattr(a, "comment")}[PIA] == (
        "L\u2019offre \u00ab\u00a0Safety First\u00a0\u00bb a été annulée.")


def test_a_language_change_is_not_a_key_change_and_waits_for_a_reconcile() -> None:
    english = desired_state(feed(), now=NOW)
    german = desired_state(feed(learners=[{"learnerEmail": LEA, "learnerName": "Lea Learner", "status": "active",
                                           "language": "de"}]), now=NOW)
    key = InvitationKey("OFF-7", "S-1", LEA)
    assert english.wanted[key].key_fp == german.wanted[key].key_fp
    assert english.wanted[key].content.body_html != german.wanted[key].content.body_html
    inv = english.wanted[key]
    sent = {key: SentRecord(key, "org@contoso.example", "learner", "live", inv.key_fp, inv.content.hashes(),
                            inv.start_utc, inv.end_utc, "E1")}
    quiet = plan(german, sent, organizer="org@contoso.example", now=NOW)
    assert [a for a in quiet.actions if a.key == key] == [] and quiet.waiting_for_reconcile == 1
    reconciled = plan(german, sent, organizer="org@contoso.example", now=NOW, reconcile=frozenset({"OFF-7"}))
    assert [(a.changed, a.reason) for a in reconciled.actions if isinstance(a, Update)] == [(("body",), "reconcile")]


def test_the_link_rules_decide_what_each_roles_template_receives() -> None:
    spy = TemplateText("s", "{{ join_url }}|{{ host_url }}")
    templates = TemplateSet.builtin().with_texts({("primaryInstructor", "en"): spy})
    got = contents(feed(), templates)
    assert got[PIA].body_html == "https://meet.example.com/j/7|https://meet.example.com/h/7"
    assert "https://meet.example.com/h/7" not in got[LEA].body_html  # the learner's built-in body
    assert "meet.example.com" not in got[IAN].body_html  # another instructor: no link at all


def test_people_of_a_session_share_one_rendering_unless_the_template_reads_their_name() -> None:
    people = [{"learnerEmail": f"p{n}@contoso.example", "learnerName": f"P{n}", "status": "active"} for n in range(3)]
    shared_ = contents(feed(learners=people))
    assert len({id(shared_[p["learnerEmail"]]) for p in people}) == 1
    named = TemplateSet.builtin().with_texts({("learner", "en"): TemplateText("Hi {{ person_name }}",
                                                                              "{{ join_url }}")})
    personal = contents(feed(learners=people), named)
    assert [personal[p["learnerEmail"]].subject for p in people] == ["Hi P0", "Hi P1", "Hi P2"]


def test_the_template_versions_are_stable_and_follow_the_texts() -> None:
    builtin = TemplateSet.builtin()
    assert builtin.version == TemplateSet.builtin().version and len(builtin.version) == 16
    assert TemplateSet.builtin("de").version != builtin.version
    edited = builtin.with_texts({("learner", "en"): TemplateText("x", "{{ join_url }}")})
    assert edited.version != builtin.version
    assert sorted(builtin.languages()) == ["de", "en", "fr"]
    assert {role for role, _ in builtin.texts} == {"learner", "primaryInstructor", "instructor"}


def test_a_preview_renders_an_unsaved_text_with_the_roles_values_and_refuses_what_a_save_would() -> None:
    from shared.planning.rendering import preview
    from shared.templates.engine import TemplateRefused

    the_feed = feed(offering={"language": "fr"})
    offering_ = the_feed.offerings[0]
    text = TemplateText("Bonjour {{ person_name }}", "<p>{{ location }} {{ start_time }}</p>{{ join_url }}")
    shown = preview(text, "learner", "de", offering_, offering_.activities[0], person_name="Lea")
    assert (shown.subject, shown.body_html) == ("Bonjour Lea", "<p>Online 22:30</p>https://meet.example.com/j/7")
    assert shown.location == "Online"
    with pytest.raises(TemplateRefused, match="unknown placeholder host_url"):
        preview(TemplateText("s", "{{ host_url }}{{ join_url }}"), "learner", "de", offering_,
                offering_.activities[0])


def test_a_saved_template_failing_on_a_sessions_values_sends_the_built_in_wording_and_says_so() -> None:
    failing = TemplateText("{{ instructor_names[5] }}", "{{ join_url }}")
    state = desired_state(feed(), now=NOW, templates=TemplateSet.builtin().with_texts({("learner", "en"): failing}))
    learner = state.wanted[InvitationKey("OFF-7", "S-1", LEA)].content
    assert learner.subject == "Safety First: Evacuation drill"
    assert learner.body_html.startswith("<html><body><p><b>Course:</b> Workplace Safety</p>")
    assert state.template_errors == [
        "learner template (en): the subject uses a value it does not have: list object has no element 5"]


MARKUP = re.compile(r'<a href="[^"<>]*">|</?(html|body|p|b|i|a)>|<br>')


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("<>&\"'ab /=\n")), min_size=1, max_size=40),
       language=st.sampled_from(["en", "de", "fr"]))
def test_no_feed_text_ever_becomes_markup_in_any_built_in_body(text: str, language: str) -> None:
    title = text.strip() or "t"
    got = contents(feed(offering={"title": title, "courseTitle": text, "description": text, "language": language},
                        session={"title": title, "description": text,
                                 "location": {"kind": "classroom", "name": text, "address": text}}))
    for content in got.values():
        rest = MARKUP.sub("", content.body_html)
        assert "<" not in rest and ">" not in rest, content.body_html
