"""From the list of raw offerings to a domain Feed: what to apply, what to reject, what to hold.

Invitations already sent must never change on data that is wrong or ambiguous. So every
rejected item yields a Hold over what it may have produced before (an item whose identity
cannot be read holds only what its absence would cancel), and an identity used
twice (an offering id, an activity id within its offering, a learner within an offering)
rejects every copy, not only the later ones: nobody can tell which copy is meant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain import Activity, Enrollment, Feed, Hold, Offering, Rejection
from shared.feed.formats import shown
from shared.feed.items import read_activity, read_enrollment, read_offering_fields, to_offering


@dataclass
class _Verdicts:
    rejections: list[Rejection] = field(default_factory=list)
    holds: dict[Hold, None] = field(default_factory=dict)  # ordered set

    def reject(self, problems: Sequence[Rejection], hold: Hold | None) -> None:
        self.rejections.extend(problems)
        if hold is not None:
            self.holds.setdefault(hold)


def _text_field(raw: Any, name: str) -> str | None:
    """A field that can still identify an item even when the item is invalid."""
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _email_key(raw: Any) -> str | None:
    email = _text_field(raw, "learnerEmail")
    return email.lower() if email is not None else None


def _duplicates(keys: Sequence[str | None], path_of: Callable[[int], str]) -> dict[str, list[str]]:
    """Every key used more than once, with the paths of all its copies."""
    counts = Counter(k for k in keys if k is not None)
    paths: dict[str, list[str]] = {}
    for index, key in enumerate(keys):
        if key is not None and counts[key] > 1:
            paths.setdefault(key, []).append(path_of(index))
    return paths


def _listed(paths: Sequence[str], most: int = 5) -> str:
    shown_paths = ", ".join(paths[:most])
    return shown_paths if len(paths) <= most else f"{shown_paths} and {len(paths) - most} more"


def build_feed(raw_offerings: Sequence[Any], *, source: str | None = None) -> Feed:
    """Judge every offering and its items; never raises, whatever the values are."""
    verdicts = _Verdicts()
    offerings: list[Offering] = []
    ids = [_text_field(raw, "id") for raw in raw_offerings]
    twins = _duplicates(ids, lambda i: f"offerings[{i}]")
    for index, (raw, offering_id) in enumerate(zip(raw_offerings, ids, strict=True)):
        path = f"offerings[{index}]"
        entry, problems = read_offering_fields(raw, path)
        if offering_id in twins:
            problems.insert(0, Rejection(
                f"{path}.id",
                f"the offering id {shown(offering_id)} is used more than once ({_listed(twins[offering_id])}); "
                "no copy is applied and the offering's existing invitations are left as they are",
            ))
        if entry is None or problems:
            verdicts.reject(problems, Hold(offering_id) if offering_id is not None else None)
            continue
        activities = _activities(entry.id, raw["activities"], path, verdicts)
        enrollments = _enrollments(entry.id, raw["enrollments"], path, verdicts)
        offerings.append(to_offering(entry, activities, enrollments))
    return Feed(
        offerings=tuple(offerings),
        rejections=tuple(verdicts.rejections),
        holds=tuple(verdicts.holds),
        source=source,
    )


def _activities(offering_id: str, raws: Sequence[Any], path: str, verdicts: _Verdicts) -> list[Activity]:
    kept: list[Activity] = []
    ids = [_text_field(raw, "id") for raw in raws]
    twins = _duplicates(ids, lambda i: f"{path}.activities[{i}]")
    for index, (raw, activity_id) in enumerate(zip(raws, ids, strict=True)):
        item_path = f"{path}.activities[{index}]"
        activity, problems = read_activity(raw, item_path)
        if activity_id in twins:
            problems.insert(0, Rejection(
                f"{item_path}.id",
                f"the activity id {shown(activity_id)} is used more than once in this offering "
                f"({_listed(twins[activity_id])}); no copy is applied and the activity's existing "
                "invitations are left as they are",
            ))
        if activity is None or problems:
            # Without a readable id the item may be any activity missing from the offering: only
            # what their absence would cancel waits (see `Hold.absent`).
            hold = Hold(offering_id, activity_id=activity_id) if activity_id is not None else Hold(
                offering_id, absent="activities")
            verdicts.reject(problems, hold)
            continue
        kept.append(activity)
    return kept


def _enrollments(offering_id: str, raws: Sequence[Any], path: str, verdicts: _Verdicts) -> list[Enrollment]:
    kept: list[Enrollment] = []
    emails = [_email_key(raw) for raw in raws]
    twins = _duplicates(emails, lambda i: f"{path}.enrollments[{i}]")
    for index, (raw, email) in enumerate(zip(raws, emails, strict=True)):
        item_path = f"{path}.enrollments[{index}]"
        enrollment, problems = read_enrollment(raw, item_path)
        if email in twins:
            problems.insert(0, Rejection(
                f"{item_path}.learnerEmail",
                f"the learner {shown(email)} is enrolled more than once in this offering "
                f"({_listed(twins[email])}; addresses are compared ignoring letter case); no entry is "
                "applied and this learner's existing invitations are left as they are",
            ))
        if enrollment is None or problems:
            unreadable = email not in twins and any(p.path == f"{item_path}.learnerEmail" for p in problems)
            # A malformed address may be any learner's address mistyped: nobody can tell whose
            # enrollment it is, so no learner missing from the offering is cancelled for being
            # missing; everything else in the offering (updates, cancelled sessions) goes on.
            hold = Hold(offering_id, absent="learners") if unreadable else Hold(offering_id, email=email)
            verdicts.reject(problems, hold)
            continue
        kept.append(enrollment)
    return kept
