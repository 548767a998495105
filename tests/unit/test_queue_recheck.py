"""A queued action against the person's mapping row as it is when the drain reaches it.

Whatever a crashed or overtaken drain left behind, the action sent is the one that finishes the
work without a second invitation: a recorded intent is resumed, finished work is not sent
again, and a row that moved on in a way the plan did not foresee is left to the next plan.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.domain import InvitationKey
from shared.planning.content import EventContent
from shared.planning.desired import DesiredInvitation
from shared.planning.plan import Cancel, Create, Update
from shared.planning.sent import SentRecord
from shared.queue.drain import _as_now

KEY = InvitationKey("OFF-1", "ACT-1", "ada@contoso.example")
START = datetime.now(UTC) + timedelta(days=5)
CONTENT = EventContent("Subject", "<p>x</p>", f"{START:%Y-%m-%dT%H:%M:%S}",
                       f"{START + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}", "UTC", "Room")
INVITATION = DesiredInvitation(KEY, "learner", None, CONTENT, "fp-new", START, START + timedelta(hours=1))


def row(state: str, generation: int = 0, **changes: object) -> SentRecord:
    base = SentRecord(KEY, "org@contoso.example", "learner", state, "fp-old", {"subject": "h"},  # type: ignore[arg-type]
                      START, START + timedelta(hours=1), "event-1", generation, etag="etag-now")
    return base.but(**changes)


def test_a_create_whose_intent_was_recorded_looks_for_its_event_first() -> None:
    action, reason = _as_now(Create(KEY, INVITATION, "org@contoso.example"), row("pending", event_id=None))
    assert reason is None and isinstance(action, Create)
    assert (action.resume, action.record, action.generation) == (True, row("pending", event_id=None), 0)


def test_a_create_already_recorded_live_with_this_content_is_not_sent_again() -> None:
    assert _as_now(Create(KEY, INVITATION, "org@contoso.example"), row("live", key_fp="fp-new")) == (None, None)


def test_a_create_overtaken_by_a_different_live_invitation_is_left_to_the_next_plan() -> None:
    action, reason = _as_now(Create(KEY, INVITATION, "org@contoso.example"), row("live"))
    assert action is None and reason is not None


def test_a_cancellation_resumes_with_the_row_as_it_is_now() -> None:
    planned = Cancel(KEY, row("live", etag="etag-then"), "Withdrawn.")
    action, reason = _as_now(planned, row("cancelling"))
    assert reason is None and action == replace(planned, record=row("cancelling"))


def test_a_finished_cancellation_is_done_or_followed_by_its_reinvitation() -> None:
    reinvite = Create(KEY, INVITATION, "org@contoso.example", 1)
    assert _as_now(Cancel(KEY, row("cancelling"), "x"), row("cancelled")) == (None, None)
    action, _ = _as_now(Cancel(KEY, row("cancelling"), "x", reinvite), row("cancelled"))
    assert isinstance(action, Create) and (action.generation, action.record, action.resume) == (
        1, row("cancelled"), False)
    action, _ = _as_now(Cancel(KEY, row("cancelling"), "x", reinvite), row("pending", generation=1))
    assert isinstance(action, Create) and (action.generation, action.resume) == (1, True)
    assert _as_now(Cancel(KEY, row("cancelling"), "x", reinvite), row("live", 1, key_fp="fp-new")) == (None, None)


def test_an_update_sends_what_still_differs_from_the_row_now() -> None:
    hashes = CONTENT.hashes()
    half_done = {**hashes, "subject": ""}  # a crashed update marked the subject in doubt
    action, reason = _as_now(Update(KEY, INVITATION, row("live"), ("subject", "body"), "key change"),
                             row("live", hashes=half_done))
    assert reason is None and isinstance(action, Update) and action.changed == ("subject",)
    assert _as_now(Update(KEY, INVITATION, row("live"), ("subject",), "key change"),
                   row("live", hashes=hashes)) == (None, None)
    action, reason = _as_now(Update(KEY, INVITATION, row("live"), ("subject",), "key change"), row("cancelled"))
    assert action is None and reason is not None
