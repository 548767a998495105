"""The pure rules of response collection: vocabulary, answers on an event, the delta window,
notification items, the subscription's body and the validation handshake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.responses.model import (
    SUBSCRIPTION_LIFETIME,
    Window,
    attendee_answers,
    notifications_of,
    organizer_of_resource,
    response_of,
    same_secret,
    window_for,
)
from shared.responses.notifications import answer
from shared.responses.runner import Task
from shared.responses.upkeep import new_client_state, subscription_body

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.mark.parametrize(("graph", "ours"), [
    ("none", "none"), ("notResponded", "none"), ("accepted", "accepted"),
    ("tentativelyAccepted", "tentativelyAccepted"), ("declined", "declined"), ("organizer", None), (None, None),
])
def test_graph_responses_map_to_the_product_vocabulary(graph: str | None, ours: str | None) -> None:
    assert response_of(graph) == ours


def test_answers_are_read_from_the_attendees_status() -> None:
    answered = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.1234567Z")
    event = {"id": "e1", "attendees": [
        {"emailAddress": {"address": "Ada@Contoso.example"}, "status": {"response": "declined", "time": answered}},
        {"emailAddress": {"address": "bo@contoso.example"},
         "status": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"}},
    ]}
    found = {a.email: a for a in attendee_answers(event)}
    assert found["ada@contoso.example"].response == "declined"
    assert found["ada@contoso.example"].responded_at == NOW - timedelta(hours=2, microseconds=-123456)
    assert found["bo@contoso.example"].response == "none"
    assert found["bo@contoso.example"].responded_at is None


def test_the_window_reaches_beyond_the_last_session_and_moves_only_when_it_must() -> None:
    last = NOW + timedelta(days=90)
    window = window_for(NOW, last)
    assert window.start <= NOW - timedelta(hours=23) and window.end >= last + timedelta(days=59)
    assert window.covers(NOW + timedelta(days=3), last)
    assert not window.covers(NOW + timedelta(days=3), window.end + timedelta(hours=1))  # a later session
    assert not window.covers(NOW + timedelta(days=9), last)  # a week old: a new round
    assert Window(window.start, window.end).covers(NOW, None)


def test_client_state_is_compared_as_a_whole() -> None:
    secret = new_client_state()
    assert same_secret(secret, secret)
    assert not same_secret(secret[:-1], secret)
    assert not same_secret(None, secret)
    assert len(secret) <= 128


def test_notification_items_are_read_and_malformed_ones_skipped() -> None:
    body = {"value": [
        {"subscriptionId": "s1", "clientState": "c", "changeType": "updated",
         "resource": "Users/org@contoso.example/Events/AAk=", "resourceData": {"id": "AAk="}},
        {"subscriptionId": "s2", "clientState": "c", "lifecycleEvent": "missed"},
        {"changeType": "updated"}, "junk",
    ]}
    items = notifications_of(body)
    assert [(i.subscription_id, i.event_id, i.lifecycle_event) for i in items] == [
        ("s1", "AAk=", None), ("s2", None, "missed")]
    assert organizer_of_resource(items[0].resource) == "org@contoso.example"


def test_a_subscription_asks_for_updates_of_the_organizers_events_under_the_public_url() -> None:
    expires = NOW + SUBSCRIPTION_LIFETIME
    body = subscription_body("org@contoso.example", "https://app.contoso.example/", "s3cret", expires)
    assert body["resource"] == "users/org@contoso.example/events"
    assert body["changeType"] == "updated"
    assert body["notificationUrl"] == "https://app.contoso.example/api/notifications"
    assert body["lifecycleNotificationUrl"] == "https://app.contoso.example/api/notifications/lifecycle"
    assert body["clientState"] == "s3cret"
    # under Outlook's maximum of 10,080 minutes
    assert NOW + timedelta(minutes=10080) > expires > NOW + timedelta(days=6)


def test_the_validation_handshake_echoes_the_token_as_plain_text() -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1 & more"
    result = answer("POST", {"validationToken": token}, b"", lifecycle=False)
    assert (result.status, result.body, result.mimetype) == (200, token, "text/plain")


def test_a_body_without_notifications_is_refused() -> None:
    assert answer("POST", {}, b"{not json", lifecycle=False).status == 400
    assert answer("POST", {}, b'{"value": []}', lifecycle=True).status == 400


def test_a_task_survives_the_queue() -> None:
    task = Task("org@contoso.example", "changes", NOW)
    assert Task.parse(task.text()) == task
    with pytest.raises(ValueError, match="kind"):
        Task.parse('{"organizer": "a@b.c", "kind": "explode"}')
