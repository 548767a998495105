"""What happens when an attendee's response changes: the webhook post is queued, the alert raised.

The collector calls `on_changes` after each `ResponseStore.record`. It must never hold up or
fail the collection (or a sync): the post itself happens later on the `learncal-webhooks`
queue (shared/responses/webhook.py, the `webhook_worker` function), and anything that goes
wrong here is logged, not raised. A response never changes an enrollment or a meeting: these
hooks only tell people.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared.monitoring import emit
from shared.settings import Settings
from shared.store.responses import ResponseRecord, iso

log = logging.getLogger("learncal.responses")

INSTRUCTOR_DECLINED = "learncal.response.instructor.declined"
INSTRUCTOR_ROLES = frozenset({"primaryInstructor", "instructor"})


def on_changes(settings: Settings, changes: Sequence[ResponseRecord]) -> None:
    """Queue the webhook posts and raise the declined-instructor alerts for `changes`; never raises."""
    if not changes:
        return
    if settings.alert_declined_instructor:
        try:
            alert_declined_instructors(changes)
        except Exception:  # a log record must not stop the collector
            log.exception("the declined-instructor alert could not be logged")
    if settings.response_webhook_url:
        from shared.responses.webhook import enqueue

        try:
            enqueue(settings, changes)
        except Exception as error:
            log.error("learncal.webhook.unqueued changes=%d kind=%s message=%s", len(changes),
                      type(error).__name__, str(error)[:500])


def alert_declined_instructors(changes: Sequence[ResponseRecord]) -> list[str]:
    """One warning record per instructor who declined; the alert rule in infra/modules/alerts.bicep selects it."""
    records: list[str] = []
    for change in changes:
        if change.role in INSTRUCTOR_ROLES and change.response == "declined":
            records.append(emit(
                logging.WARNING, INSTRUCTOR_DECLINED, offering_id=change.offering_id,
                activity_id=change.activity_id, email=change.email, role=change.role,
                responded_at=iso(change.responded_at), organizer=change.organizer,
                message=f"Instructor {change.email} declined session {change.activity_id} of offering "
                        f"{change.offering_id}. Find a replacement in the learning system; the meeting stays as it "
                        "is until the feed changes.",
            ))
    return records
