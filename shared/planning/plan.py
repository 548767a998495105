"""The planner: desired state + what was last sent -> the actions of one run. Pure, no I/O.

Each (activity, person) pair falls in exactly one row of the truth table in
`docs/behaviour.md`; the comments below name the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from shared.domain import InvitationKey
from shared.planning.content import PROPERTIES
from shared.planning.desired import DesiredInvitation, DesiredState
from shared.planning.sent import SentRecord

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Create:
    key: InvitationKey
    invitation: DesiredInvitation
    organizer: str
    generation: int = 0
    resume: bool = False  # a create was recorded but its outcome is unknown: look for the event first
    record: SentRecord | None = None  # the row this create replaces (pending, or a cancelled one)

    @property
    def start_utc(self) -> datetime:
        return self.invitation.start_utc


@dataclass(frozen=True)
class Update:
    key: InvitationKey
    invitation: DesiredInvitation
    record: SentRecord
    changed: tuple[str, ...]
    reason: Literal["key change", "reconcile"]

    @property
    def start_utc(self) -> datetime:
        return self.invitation.start_utc


@dataclass(frozen=True)
class Cancel:
    key: InvitationKey
    record: SentRecord
    comment: str
    # Wanted again while an earlier cancellation was unconfirmed: once the cancellation is done,
    # this new invitation follows in the same run (the executor sends it under the next generation).
    reinvite: Create | None = None

    @property
    def start_utc(self) -> datetime:
        return self.record.start_utc or _FAR_FUTURE


@dataclass(frozen=True)
class Remember:
    """Key fields moved but this person's meeting reads the same: store the new fingerprint only."""

    key: InvitationKey
    invitation: DesiredInvitation
    record: SentRecord

    @property
    def start_utc(self) -> datetime:
        return self.invitation.start_utc


Action = Create | Update | Cancel | Remember
SENDING = (Create, Update, Cancel)
_URGENCY = {Cancel: 0, Update: 1, Create: 2, Remember: 3}


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    unchanged: int = 0
    waiting_for_reconcile: int = 0  # non-key changes held back until the offering is reconciled
    held: int = 0  # untouched because their feed item was rejected
    left_out: int = 0  # not on the recipient allow-list
    live_before: int = 0  # live invitations in the offerings this plan covers

    def of(self, kind: type) -> list[Action]:
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def reinvites(self) -> list[Create]:
        """New invitations that follow a cancellation being finished (see `Cancel.reinvite`)."""
        return [a.reinvite for a in self.actions if isinstance(a, Cancel) and a.reinvite is not None]

    @property
    def sends(self) -> list[Action]:
        return [a for a in self.actions if isinstance(a, SENDING)]


def plan(
    desired: DesiredState,
    sent: Mapping[InvitationKey, SentRecord],
    *,
    organizer: str | Mapping[str, str],
    reconcile: frozenset[str] = frozenset(),
    now: datetime,
) -> Plan:
    """`organizer`: the mailbox new invitations come from, or each offering's pin (offering id -> mailbox).

    Invitations already recorded keep the organizer they were sent from, whatever is passed.
    """
    sender = _sender(organizer)
    result = Plan(left_out=len(desired.left_out))
    for key, record in sent.items():
        if key.offering_id not in desired.offerings:
            continue  # an offering absent from the feed is untouched
        if record.live:
            result.live_before += 1
        if desired.held(key):
            result.held += 1  # its feed item was rejected: leave exactly as it is
            continue
        if record.state == "cancelled":
            continue  # a re-invite, if wanted, is handled with the wanted pairs below
        if desired.is_history(key, record.end_utc, now):
            continue  # ended activities are history: nothing, ever (judged by the feed's end)
        if key in desired.left_out:
            continue  # outside the allow-list: nothing is sent to them at all
        invitation = desired.wanted.get(key)
        if record.state == "cancelling":
            # finish a cancellation that was recorded but not confirmed; wanted again: invite anew after it
            reinvite = None
            if invitation is not None and invitation.may_create:
                reinvite = Create(key, invitation, sender(key), record.generation + 1)
            result.actions.append(Cancel(key, record, record.comment or "This meeting was cancelled.", reinvite))
            continue
        if invitation is None:
            if desired.waits(key):
                result.held += 1  # a rejected item may be this person's (session's): wait until it is fixed
                continue
            # sent before, no longer wanted: a cancellation with a short reason
            result.actions.append(Cancel(key, record, desired.why_unwanted(key, record.role)))
            continue
        if record.state == "pending":
            # recorded but not confirmed: find the event by its tag, or create it
            result.actions.append(
                Create(key, invitation, record.organizer, record.generation, resume=True, record=record)
            )
            continue
        _compare(result, invitation, record, reconcile)

    for key, invitation in desired.wanted.items():
        previous = sent.get(key)
        if previous is not None and previous.state != "cancelled":
            continue  # holds protect what was sent; a valid item's new invitation still goes out
        if not invitation.may_create:
            continue  # completed enrollments never get a new invitation
        # wanted now, nothing (live) sent before: an invitation
        generation = previous.generation + 1 if previous is not None else 0
        result.actions.append(Create(key, invitation, sender(key), generation, record=previous))

    result.actions.sort(key=lambda a: (a.start_utc, _URGENCY[type(a)], a.key))
    return result


def _sender(organizer: str | Mapping[str, str]) -> Callable[[InvitationKey], str]:
    if isinstance(organizer, str):
        return lambda _key: organizer

    def pinned(key: InvitationKey) -> str:
        try:
            return organizer[key.offering_id]
        except KeyError:
            raise ValueError(f"offering {key.offering_id!r} has no organizer pinned for its new invitations") from None

    return pinned


def _compare(result: Plan, invitation: DesiredInvitation, record: SentRecord, reconcile: frozenset[str]) -> None:
    hashes = invitation.content.hashes()
    changed = tuple(p for p in PROPERTIES if hashes[p] != record.hashes.get(p))
    if invitation.key_fp != record.key_fp:
        if changed:
            # a key field changed: an update with every property that differs from what was sent
            result.actions.append(Update(invitation.key, invitation, record, changed, "key change"))
        else:
            result.actions.append(Remember(invitation.key, invitation, record))
    elif changed and invitation.key.offering_id in reconcile:
        # reconciled: every difference goes out
        result.actions.append(Update(invitation.key, invitation, record, changed, "reconcile"))
    elif changed:
        result.waiting_for_reconcile += 1  # only non-key fields changed: nothing until reconciled
        result.unchanged += 1
    else:
        result.unchanged += 1  # nothing changed: no request to Graph at all
