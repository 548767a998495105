"""Queued actions survive their trip through JSON exactly, ETags and re-invitations included."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import InvitationKey
from shared.planning.content import EventContent
from shared.planning.desired import DesiredInvitation
from shared.planning.plan import Cancel, Create, Update
from shared.planning.sent import SentRecord
from shared.queue.codec import UnreadableWork, decode, encode
from shared.queue.work import row_key

SOON = datetime.now(UTC).replace(microsecond=123456) + timedelta(days=3)
KEY = InvitationKey("OFF/1", "ACT#2", "zoë.learner@contoso.example")


def invitation(key: InvitationKey = KEY, *, may_create: bool = True, asks: bool = False) -> DesiredInvitation:
    content = EventContent("Datenschutz: Grundlagen \U0001f512", "<p>Join &amp; learn</p>" * 3, "2031-01-01T09:00:00",
                           "2031-01-01T10:00:00", "W. Europe Standard Time", "Room 1", response_requested=asks)
    return DesiredInvitation(key, "learner", "Zoë", content, "fp1", SOON, SOON + timedelta(hours=1), may_create)


def record(state: str = "live", **changes: object) -> SentRecord:
    base = SentRecord(KEY, "Organizer@Contoso.example", "instructor", state, "fp0",  # type: ignore[arg-type]
                      {"subject": "abc", "body": "def"}, SOON, SOON + timedelta(hours=2), "AAMk=/+", 3,
                      "Cancelled by the provider.", 'W/"datetime\'2026-01-01T00%3A00%3A00Z\'"')
    return base.but(**changes)


ACTIONS = [
    Create(KEY, invitation(), "organizer@contoso.example"),
    Create(KEY, invitation(may_create=False), "o@contoso.example", 4, True, record("pending", event_id=None)),
    Update(KEY, invitation(), record(), ("subject", "start"), "key change"),
    Update(KEY, invitation(), record(comment=None, etag=None, start_utc=None, end_utc=None), ("body",), "reconcile"),
    Cancel(KEY, record("cancelling"), "Withdrawn."),
    Cancel(KEY, record("cancelling"), "x",
           Create(KEY, invitation(), "o@contoso.example", 4, record=record("cancelled"))),
    Create(KEY, invitation(asks=True), "organizer@contoso.example"),
]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: type(a).__name__)
def test_every_action_round_trips_exactly(action: Create | Update | Cancel) -> None:
    assert decode(encode(action)) == action


def test_work_queued_before_responses_could_be_requested_reads_as_not_asking() -> None:
    queued = json.loads(encode(Create(KEY, invitation(asks=True), "organizer@contoso.example")))
    assert queued["invitation"]["content"].pop("responseRequested") is True
    action = decode(json.dumps(queued))
    assert isinstance(action, Create) and action.invitation.content.response_requested is False


def test_damaged_work_is_named_not_guessed() -> None:
    with pytest.raises(UnreadableWork, match="unknown queued action kind 'delete'"):
        decode('{"kind": "delete", "key": ["a", "b", "c"]}')
    with pytest.raises(UnreadableWork, match="not JSON"):
        decode("{")


def test_row_keys_sort_soonest_first_then_cancel_update_create() -> None:
    later = invitation()
    earlier = DesiredInvitation(KEY, "learner", None, later.content, "fp", SOON - timedelta(days=1),
                                SOON - timedelta(hours=23))
    create, update, cancel = ACTIONS[0], ACTIONS[2], ACTIONS[4]
    early_create = Create(KEY, earlier, "organizer@contoso.example")
    ordered = sorted([create, update, cancel, early_create], key=row_key)
    assert ordered == [early_create, cancel, update, create]
    assert all(c not in row_key(create) for c in "/\\#?")
