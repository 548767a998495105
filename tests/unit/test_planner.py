"""The planner's truth table, without servers: desired state x what was last sent -> actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import Activity, Enrollment, Feed, Hold, Instructor, InvitationKey, Location, Offering
from shared.planning.desired import Allowlist, desired_state
from shared.planning.plan import Cancel, Create, Plan, Remember, Update, plan
from shared.planning.sent import SentRecord

NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
ORGANIZER = "coordinator@contoso.example"


def activity(id_: str = "A1", *, start: datetime | None = None, hours: float = 2, **changes: object) -> Activity:
    start = start or datetime(2025, 3, 2, 9, 0)
    end = start + timedelta(hours=hours)
    base = Activity(
        id=id_,
        title="Session",
        start_local=start,
        end_local=end,
        time_zone="Europe/Berlin",
        start_utc=(start - timedelta(hours=1)).replace(tzinfo=UTC),
        end_utc=(end - timedelta(hours=1)).replace(tzinfo=UTC),
        location=Location(
            "virtual", "Online", join_url="https://meet.example.com/j/1", host_url="https://meet.example.com/h/1"
        ),
        instructors=(
            Instructor("ines@contoso.example", "Ines", primary=True),
            Instructor("sam@contoso.example", "Sam"),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def offering(*activities: Activity, enrollments: tuple[Enrollment, ...] | None = None, **changes: object) -> Offering:
    base = Offering(
        id="O1",
        title="Course",
        status="active",
        activities=activities or (activity(),),
        enrollments=enrollments
        if enrollments is not None
        else (
            Enrollment("ada@contoso.example", "active", "Ada"),
            Enrollment("bo@contoso.example", "active"),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def run(feed: Feed, sent: dict[InvitationKey, SentRecord] | None = None, **kw: object) -> Plan:
    desired = desired_state(feed, now=NOW, allowlist=kw.pop("allowlist", None))  # type: ignore[arg-type]
    return plan(desired, sent or {}, organizer=ORGANIZER, now=NOW, **kw)  # type: ignore[arg-type]


def applied(feed: Feed) -> dict[InvitationKey, SentRecord]:
    """What the mapping holds after every create of `feed` went through."""
    records = {}
    for action in run(feed).of(Create):
        assert isinstance(action, Create)
        inv = action.invitation
        records[action.key] = SentRecord(
            key=action.key,
            organizer=ORGANIZER,
            role=inv.role,
            state="live",
            key_fp=inv.key_fp,
            hashes=inv.content.hashes(),
            start_utc=inv.start_utc,
            end_utc=inv.end_utc,
            event_id=f"ev-{action.key.email}",
        )
    return records


def keys(actions: list) -> set[tuple[str, str]]:
    return {(a.key.activity_id, a.key.email) for a in actions}


def test_everyone_wanted_is_invited_once_with_the_right_role() -> None:
    result = run(Feed((offering(),)))
    creates = result.of(Create)
    assert keys(creates) == {
        ("A1", e) for e in ("ines@contoso.example", "sam@contoso.example", "ada@contoso.example", "bo@contoso.example")
    }
    roles = {a.key.email: a.invitation.role for a in creates}  # type: ignore[union-attr]
    assert roles["ines@contoso.example"] == "instructor" and roles["ada@contoso.example"] == "learner"


def test_links_follow_the_primary_instructor_rule() -> None:
    creates = {a.key.email: a.invitation.content.body_html for a in run(Feed((offering(),))).of(Create)}  # type: ignore[union-attr]
    assert "https://meet.example.com/h/1" in creates["ines@contoso.example"]
    assert "meet.example.com" not in creates["sam@contoso.example"]
    assert "https://meet.example.com/j/1" in creates["ada@contoso.example"]
    assert "/h/1" not in creates["ada@contoso.example"]


def test_nothing_changed_plans_nothing() -> None:
    feed = Feed((offering(),))
    result = run(feed, applied(feed))
    assert result.actions == [] and result.unchanged == 4


def test_withdrawal_cancels_exactly_that_learner_with_a_reason() -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    withdrawn = Feed(
        (
            offering(
                enrollments=(Enrollment("ada@contoso.example", "active"), Enrollment("bo@contoso.example", "withdrawn"))
            ),
        )
    )
    result = run(withdrawn, sent)
    assert [type(a) for a in result.actions] == [Cancel]
    cancel = result.actions[0]
    assert isinstance(cancel, Cancel) and cancel.key.email == "bo@contoso.example"
    assert "withdrew" in cancel.comment


def test_key_change_updates_everyone_with_only_changed_properties() -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    moved = Feed((offering(activity(start=datetime(2025, 3, 3, 9, 0))),))
    result = run(moved, sent)
    updates = result.of(Update)
    assert len(updates) == 4 and all(isinstance(u, Update) and u.reason == "key change" for u in updates)
    assert {c for u in updates for c in u.changed} == {"start", "end"}  # type: ignore[union-attr]


def test_non_key_change_waits_for_reconcile_then_updates() -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    renamed = Feed((offering(title="Course, renamed"),))
    waiting = run(renamed, sent)
    assert waiting.actions == [] and waiting.waiting_for_reconcile == 4
    reconciled = run(renamed, sent, reconcile=frozenset({"O1"}))
    assert len(reconciled.of(Update)) == 4
    assert all(u.changed == ("subject",) for u in reconciled.of(Update))  # type: ignore[union-attr]


def test_primary_instructor_change_is_non_key_and_moves_on_reconcile() -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    swapped = activity(
        instructors=(Instructor("ines@contoso.example"), Instructor("sam@contoso.example", primary=True))
    )
    new = Feed((offering(swapped),))
    assert run(new, sent).actions == []
    updates = run(new, sent, reconcile=frozenset({"O1"})).of(Update)
    assert keys(updates) == {("A1", "ines@contoso.example"), ("A1", "sam@contoso.example")}


def test_host_link_change_is_key_but_only_affected_people_get_an_update() -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    relinked = activity(
        location=Location(
            "virtual", "Online", join_url="https://meet.example.com/j/1", host_url="https://meet.example.com/h/2"
        )
    )
    result = run(Feed((offering(relinked),)), sent)
    assert keys(result.of(Update)) == {("A1", "ines@contoso.example")}
    assert len(result.of(Remember)) == 3  # fingerprints move on, no message to the others


def test_learner_and_instructor_gets_one_invitation_as_instructor() -> None:
    both = offering(enrollments=(Enrollment("sam@contoso.example", "active"),))
    creates = run(Feed((both,))).of(Create)
    sam = [a for a in creates if a.key.email == "sam@contoso.example"]
    assert len(sam) == 1 and sam[0].invitation.role == "instructor"  # type: ignore[union-attr]


def test_removed_instructor_is_cancelled_and_added_one_invited() -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    changed = activity(
        instructors=(Instructor("ines@contoso.example", primary=True), Instructor("new@contoso.example"))
    )
    result = run(Feed((offering(changed),)), sent)
    assert keys(result.of(Cancel)) == {("A1", "sam@contoso.example")}
    assert "no longer an instructor" in result.of(Cancel)[0].comment  # type: ignore[union-attr]
    assert keys(result.of(Create)) == {("A1", "new@contoso.example")}


@pytest.mark.parametrize(
    ("feed_change", "reason"),
    [
        ({"status": "cancelled"}, "was cancelled"),
        ({"activities": (activity(status="cancelled"),)}, "session was cancelled"),
        ({"activities": (activity("A2"),)}, "removed from the offering"),
    ],
)
def test_cancellations_carry_their_reason(feed_change: dict, reason: str) -> None:
    feed = Feed((offering(),))
    sent = applied(feed)
    result = run(Feed((offering(**feed_change),)), sent)
    cancels = result.of(Cancel)
    assert len(cancels) == 4 and all(reason in c.comment for c in cancels)  # type: ignore[union-attr]


def test_completed_enrollment_neither_creates_nor_cancels() -> None:
    completed = (Enrollment("ada@contoso.example", "completed"), Enrollment("bo@contoso.example", "active"))
    assert ("A1", "ada@contoso.example") not in keys(run(Feed((offering(enrollments=completed),))).of(Create))
    sent = applied(Feed((offering(),)))
    assert run(Feed((offering(enrollments=completed),)), sent).actions == []


def test_offering_absent_from_the_feed_is_untouched() -> None:
    sent = applied(Feed((offering(),)))
    other = replace(offering(), id="O2")
    result = run(Feed((other,)), sent)
    assert not result.of(Cancel) and len(result.of(Create)) == 4


def test_ended_activities_get_nothing_ever() -> None:
    past = activity(start=datetime(2025, 1, 1, 9, 0))
    assert run(Feed((offering(past),))).actions == []
    sent = applied(Feed((offering(),)))
    ended = {k: r.but(end_utc=NOW - timedelta(minutes=1)) for k, r in sent.items()}
    assert run(Feed((offering(past),)), ended).actions == []  # still over in the feed
    assert run(Feed((offering(past, status="cancelled"),)), ended).actions == []
    assert run(Feed((offering(activity("A2"), status="cancelled"),)), ended).actions == []  # gone: recorded end


def test_history_is_judged_by_the_end_in_the_feed_not_the_recorded_one() -> None:
    sent = applied(Feed((offering(),)))
    old_end = {k: r.but(start_utc=NOW - timedelta(hours=3), end_utc=NOW - timedelta(hours=1)) for k, r in sent.items()}
    moved = Feed((offering(activity(start=datetime(2025, 3, 3, 9, 0))),))  # moved later after its old end passed
    result = run(moved, old_end)
    assert len(result.of(Update)) == 4 and not result.of(Cancel)
    assert {c for u in result.of(Update) for c in u.changed} == {"start", "end"}  # type: ignore[union-attr]
    cancelled = run(Feed((offering(status="cancelled"),)), old_end)  # still ahead in the feed: cancelled
    assert len(cancelled.of(Cancel)) == 4
    pending = {k: r.but(state="cancelled") for k, r in old_end.items()}  # nothing live left: invited anew
    assert len(run(moved, pending).of(Create)) == 4


def test_a_removed_session_is_judged_by_its_recorded_end() -> None:
    sent = applied(Feed((offering(),)))
    removed = Feed((offering(activity("A2")),))
    assert keys(run(removed, sent).of(Cancel)) == {("A1", e) for e in (
        "ines@contoso.example", "sam@contoso.example", "ada@contoso.example", "bo@contoso.example")}
    ended = {k: r.but(end_utc=NOW - timedelta(minutes=1)) for k, r in sent.items()}
    assert not run(removed, ended).of(Cancel)


def test_held_items_are_left_exactly_as_they_are() -> None:
    sent = applied(Feed((offering(),)))
    without_activity = Feed((offering(activity("A2")),), holds=(Hold("O1", "A1"),))
    result = run(without_activity, sent)
    assert not result.of(Cancel) and result.held == 4


def test_allowlist_leaves_out_everyone_else() -> None:
    result = run(Feed((offering(),)), allowlist=Allowlist(("ada@contoso.example", "@partner.example")))
    assert keys(result.of(Create)) == {("A1", "ada@contoso.example")}
    assert result.left_out == 3


def test_reinvite_after_cancellation_is_a_new_generation() -> None:
    sent = applied(Feed((offering(),)))
    key = InvitationKey("O1", "A1", "bo@contoso.example")
    sent[key] = sent[key].but(state="cancelled", generation=0)
    creates = run(Feed((offering(),)), sent).of(Create)
    assert [(c.key, c.generation) for c in creates] == [(key, 1)]  # type: ignore[union-attr]


def test_update_in_doubt_is_sent_again_whatever_the_feed_says_now() -> None:
    """A PATCH whose outcome is unknown (recorded in doubt, then the run stopped) is sent again,
    also when the feed moved the session back to what the row said before."""
    sent = applied(Feed((offering(),)))
    ada = InvitationKey("O1", "A1", "ada@contoso.example")
    sent[ada] = sent[ada].but(key_fp="", hashes={**sent[ada].hashes, "start": "", "end": ""})
    result = run(Feed((offering(),)), sent)
    (update,) = result.actions
    assert isinstance(update, Update) and update.key == ada and set(update.changed) == {"start", "end"}


def test_unconfirmed_create_and_cancel_are_resumed() -> None:
    sent = applied(Feed((offering(),)))
    ada = InvitationKey("O1", "A1", "ada@contoso.example")
    bo = InvitationKey("O1", "A1", "bo@contoso.example")
    sent[ada] = sent[ada].but(state="pending", event_id=None)
    sent[bo] = sent[bo].but(state="cancelling", comment="You withdrew from this offering.")
    result = run(Feed((offering(),)), sent)
    create = next(a for a in result.actions if a.key == ada)
    assert isinstance(create, Create) and create.resume
    cancel = next(a for a in result.actions if a.key == bo)
    assert isinstance(cancel, Cancel) and cancel.comment == "You withdrew from this offering."


def test_unconfirmed_cancellation_of_someone_wanted_again_is_finished_then_reinvited() -> None:
    sent = applied(Feed((offering(),)))
    bo = InvitationKey("O1", "A1", "bo@contoso.example")
    sam = InvitationKey("O1", "A1", "sam@contoso.example")
    sent[bo] = sent[bo].but(state="cancelling", comment="You withdrew from this offering.", generation=2)
    sent[sam] = sent[sam].but(state="cancelling", comment="You are no longer an instructor for this session.")
    result = run(Feed((offering(),)), sent)  # re-enrolled, instructor re-added
    cancels = {a.key: a for a in result.of(Cancel)}
    assert set(cancels) == {bo, sam} and not result.of(Create)
    reinvite = cancels[bo].reinvite  # type: ignore[union-attr]
    assert reinvite is not None and reinvite.key == bo and reinvite.generation == 3
    assert reinvite.invitation.role == "learner" and reinvite.organizer == ORGANIZER
    assert cancels[sam].reinvite is not None and cancels[sam].reinvite.invitation.role == "instructor"  # type: ignore[union-attr]


def test_unconfirmed_cancellation_is_only_finished_when_not_wanted_or_completed() -> None:
    sent = applied(Feed((offering(),)))
    bo = InvitationKey("O1", "A1", "bo@contoso.example")
    sent[bo] = sent[bo].but(state="cancelling", comment="You withdrew from this offering.")
    for status in ("withdrawn", "completed"):
        feed = Feed((offering(enrollments=(Enrollment("ada@contoso.example", "active"),
                                           Enrollment("bo@contoso.example", status))),))
        (cancel,) = run(feed, sent).actions
        assert isinstance(cancel, Cancel) and cancel.key == bo and cancel.reinvite is None


MALFORMED_LEARNER = Hold("O1", absent="learners")
EVERYONE = ("ines@contoso.example", "sam@contoso.example", "ada@contoso.example", "bo@contoso.example")


def test_malformed_address_holds_only_cancellations_of_learners_missing_from_the_feed() -> None:
    sent = applied(Feed((offering(),)))
    moved = activity(start=datetime(2025, 3, 3, 9, 0))
    missing_bo = Feed((offering(moved, enrollments=(Enrollment("ada@contoso.example", "active"),)),),
                      holds=(MALFORMED_LEARNER,))
    result = run(missing_bo, sent)
    assert keys(result.of(Update)) == {("A1", e) for e in ("ines@contoso.example", "sam@contoso.example",
                                                           "ada@contoso.example")}
    assert not result.of(Cancel) and result.held == 1  # Bo may be the malformed entry
    withdrawn = Feed((offering(enrollments=(Enrollment("ada@contoso.example", "active"),
                                            Enrollment("bo@contoso.example", "withdrawn"))),),
                     holds=(MALFORMED_LEARNER,))
    assert keys(run(withdrawn, sent).of(Cancel)) == {("A1", "bo@contoso.example")}  # present: withdrawn


def test_malformed_address_holds_a_removed_instructor_who_may_be_enrolled() -> None:
    sent = applied(Feed((offering(),)))
    only_ines = activity(instructors=(Instructor("ines@contoso.example", "Ines", primary=True),))
    result = run(Feed((offering(only_ines),), holds=(MALFORMED_LEARNER,)), sent)
    assert not result.of(Cancel) and result.held == 1


@pytest.mark.parametrize(
    "change",
    [
        {"status": "cancelled"},
        {"activities": (activity(status="cancelled"),)},
        {"activities": (activity("A2"),)},
    ],
)
def test_malformed_address_holds_no_cancellation_of_the_session_or_offering(change: dict) -> None:
    sent = applied(Feed((offering(),)))
    result = run(Feed((offering(enrollments=(), **change),), holds=(MALFORMED_LEARNER,)), sent)
    assert keys(result.of(Cancel)) == {("A1", e) for e in EVERYONE} and result.held == 0


def test_activity_without_readable_id_holds_only_sessions_missing_from_the_feed() -> None:
    sent = applied(Feed((offering(activity("A1"), activity("A2", start=datetime(2025, 3, 9, 9, 0))),)))
    moved = activity("A1", start=datetime(2025, 3, 3, 9, 0))
    unreadable = (Hold("O1", absent="activities"),)
    result = run(Feed((offering(moved, enrollments=(Enrollment("ada@contoso.example", "active"),)),),
                      holds=unreadable), sent)
    assert keys(result.of(Update)) == {("A1", e) for e in EVERYONE[:3]}
    assert keys(result.of(Cancel)) == {("A1", "bo@contoso.example")}  # gone from the enrollments
    assert result.held == 4  # A2 may be the unreadable activity
    cancelled = run(Feed((offering(moved, status="cancelled"),), holds=unreadable), sent)
    assert len(cancelled.of(Cancel)) == 8


def test_most_urgent_first_cancellations_before_updates_before_invitations() -> None:
    early = activity("A0", start=datetime(2025, 2, 1, 9, 0))
    late = activity("A9", start=datetime(2025, 5, 1, 9, 0))
    sent = applied(Feed((offering(early, late),)))
    moved_early = activity("A0", start=datetime(2025, 2, 1, 10, 0))
    enrollments = (
        Enrollment("ada@contoso.example", "active"),
        Enrollment("bo@contoso.example", "withdrawn"),
        Enrollment("cy@contoso.example", "active"),
    )
    result = run(Feed((offering(moved_early, late, enrollments=enrollments),)), sent)
    kinds = [(a.key.activity_id, type(a).__name__) for a in result.sends]
    first_a9 = kinds.index(next(k for k in kinds if k[0] == "A9"))
    assert all(k[0] == "A0" for k in kinds[:first_a9])
    a0 = [k[1] for k in kinds if k[0] == "A0"]
    assert a0 == sorted(a0, key=["Cancel", "Update", "Create"].index)


def test_an_offering_is_never_settled_while_someone_wanted_has_no_live_invitation() -> None:
    from shared.sync.service import _without_invitation

    feed = Feed((offering(enrollments=(Enrollment("ada@contoso.example", "active"),
                                       Enrollment("bo@contoso.example", "completed"))),))
    sent = applied(Feed((offering(),)))
    desired = desired_state(feed, now=NOW)
    assert _without_invitation(desired, sent) == set()
    bo = InvitationKey("O1", "A1", "bo@contoso.example")
    ada = InvitationKey("O1", "A1", "ada@contoso.example")
    assert _without_invitation(desired, {**sent, bo: sent[bo].but(state="cancelled")}) == set()  # completed
    for state in ("cancelled", "cancelling", "pending"):
        assert _without_invitation(desired, {**sent, ada: sent[ada].but(state=state)}) == {"O1"}
    assert _without_invitation(desired, {k: r for k, r in sent.items() if k != ada}) == {"O1"}


def test_pinned_organizers_send_new_invitations_and_records_keep_their_own() -> None:
    first = offering()
    second = replace(offering(), id="O2")
    sent = applied(Feed((first,)))  # O1's invitations were sent by ORGANIZER
    ada = InvitationKey("O1", "A1", "ada@contoso.example")
    del sent[ada]  # Ada is new in O1 this run
    bo = InvitationKey("O1", "A1", "bo@contoso.example")
    sent[bo] = sent[bo].but(organizer="earlier@contoso.example", state="cancelling", comment="x")
    pins = {"O1": "pool.one@contoso.example", "O2": "pool.two@contoso.example"}
    result = plan(
        desired_state(Feed((first, second)), now=NOW, allowlist=None), sent, organizer=pins, now=NOW)
    creates = {a.key: a for a in result.of(Create)}
    assert creates[ada].organizer == "pool.one@contoso.example"
    assert {a.organizer for k, a in creates.items() if k.offering_id == "O2"} == {"pool.two@contoso.example"}
    assert len([k for k in creates if k.offering_id == "O2"]) == 4
    cancel = next(a for a in result.of(Cancel) if a.key == bo)
    assert isinstance(cancel, Cancel) and cancel.record.organizer == "earlier@contoso.example"
    assert cancel.reinvite is not None and cancel.reinvite.organizer == "pool.one@contoso.example"


def test_an_offering_without_a_pin_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="offering 'O1' has no organizer pinned"):
        plan(desired_state(Feed((offering(),)), now=NOW, allowlist=None), {}, organizer={}, now=NOW)
