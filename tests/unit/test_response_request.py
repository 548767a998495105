"""Asking people to accept or decline: the closing wording, Graph's `responseRequested`, and the
fingerprints of invitations sent before the setting existed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.calendar.gateway import NewEvent
from shared.calendar.graph_gateway import event_json, property_json
from shared.domain import Activity, Enrollment, Feed, Instructor, InvitationKey, Location, Offering
from shared.planning.desired import desired_state
from shared.planning.plan import Update, plan
from shared.planning.sent import SentRecord

NOW = datetime.now(UTC).replace(microsecond=0)
ADA = "ada@contoso.example"
NO_RESPONSE = "<p><i>Sent by the learning system. No response is needed; changes are made there.</i></p>"
ASKS = ("<p><i>Sent by the learning system. Please accept or decline this invitation; changes to the "
        "session are still made in the learning system.</i></p>")


def feed() -> Feed:
    start = (NOW + timedelta(days=9)).replace(tzinfo=None, hour=9, minute=0, second=0)
    activity = Activity(
        id="A1", title="Session", start_local=start, end_local=start + timedelta(hours=2), time_zone="UTC",
        start_utc=start.replace(tzinfo=UTC), end_utc=(start + timedelta(hours=2)).replace(tzinfo=UTC),
        location=Location("virtual", "Online", join_url="https://meet.example.com/j/1"),
        instructors=(Instructor("ines@contoso.example", "Ines", primary=True),),
    )
    return Feed((Offering("O1", "Course", "active", (activity,), (Enrollment(ADA, "active", "Ada"),)),))


def content(request_responses: bool) -> Any:
    desired = desired_state(feed(), now=NOW, request_responses=request_responses)
    return desired.wanted[InvitationKey("O1", "A1", ADA)].content


def digest(value: object) -> str:
    """The fingerprint as every mapping row before the setting stored it (independent of the product)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def test_without_the_setting_the_closing_says_no_response_is_needed() -> None:
    off = content(False)
    assert off.response_requested is False
    assert off.body_html.endswith(NO_RESPONSE + "</body></html>")
    assert "accept or decline" not in off.body_html


def test_with_the_setting_the_closing_asks_to_accept_or_decline() -> None:
    on = content(True)
    assert on.response_requested is True
    assert on.body_html.endswith(ASKS + "</body></html>")
    assert "No response is needed" not in on.body_html


def test_fingerprints_without_the_setting_equal_those_stored_before_it_existed() -> None:
    off = content(False)
    stored = {"contentType": "html", "content": off.body_html}  # the body's entry as it was always hashed
    assert off.hashes()["body"] == digest(stored)
    assert set(off.hashes()) == {"subject", "body", "start", "end", "location"}


def test_switching_the_setting_on_changes_the_body_only() -> None:
    off, on = content(False).hashes(), content(True).hashes()
    assert {name for name in off if off[name] != on[name]} == {"body"}


def event(properties: dict[str, Any]) -> NewEvent:
    return NewEvent(properties=properties, attendee_email=ADA, attendee_name="Ada", tag="lcs1/O1/A1/ada",
                    transaction_id="t", state=None)


def test_a_new_invitation_requests_a_response_only_when_the_content_asks() -> None:
    assert event_json(event(content(False).properties()))["responseRequested"] is False
    assert event_json(event(content(True).properties()))["responseRequested"] is True
    # Graph's default is true: a create without a body still says false
    assert event_json(event({"subject": "S"}))["responseRequested"] is False


def test_a_body_update_carries_the_response_request_and_other_updates_do_not() -> None:
    on, off = content(True).properties(), content(False).properties()
    assert property_json({"body": on["body"]}) == {
        "body": {"content": on["body"]["content"], "contentType": "html"}, "responseRequested": True}
    assert property_json({"body": off["body"]})["responseRequested"] is False
    assert "responseRequested" not in property_json({"location": off["location"]})


def test_an_invitation_sent_before_the_setting_waits_for_a_reconcile_then_updates_its_body() -> None:
    before = desired_state(feed(), now=NOW)
    key = InvitationKey("O1", "A1", ADA)
    sent_inv = before.wanted[key]
    record = SentRecord(key=key, organizer="org@contoso.example", role="learner", state="live",
                        key_fp=sent_inv.key_fp, hashes=sent_inv.content.hashes(), event_id="E1")
    sent = {key: record}
    quiet = plan(desired_state(feed(), now=NOW), sent, organizer="org@contoso.example", now=NOW)
    assert [a for a in quiet.actions if a.key == key] == []  # same setting: nothing changed
    switched = desired_state(feed(), now=NOW, request_responses=True)
    waiting = plan(switched, sent, organizer="org@contoso.example", now=NOW)
    assert [a for a in waiting.actions if a.key == key] == [] and waiting.waiting_for_reconcile >= 1
    rolled = plan(switched, sent, organizer="org@contoso.example", now=NOW, reconcile=frozenset({"O1"}))
    updates = [a for a in rolled.actions if isinstance(a, Update) and a.key == key]
    assert [(u.changed, u.reason) for u in updates] == [(("body",), "reconcile")]
