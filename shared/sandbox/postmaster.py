"""The single place where every meeting message is delivered and recorded.

Exchange Online limits each sending mailbox (about 30 messages a minute, 10,000 recipients a
day) and meeting requests, updates and cancellations all count. Depending on the realism
switch an over-limit send is only counted (`record`), or not delivered and answered with a
non-delivery report to the sender (`reject`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from shared.sandbox.clock import Clock
from shared.sandbox.realism import Realism
from shared.sandbox.stats import Stats
from shared.sandbox.store import Store

DAY_SECONDS = 86_400.0


def _instant(clock: Clock, seconds_ago: float = 0.0) -> str:
    return clock.ago(seconds_ago).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Postmaster:
    def __init__(self, store: Store, clock: Clock, stats: Stats, realism: Callable[[], Realism]) -> None:
        self._store = store
        self._clock = clock
        self._stats = stats
        self._realism = realism

    def send(self, kind: str, sender: str, recipients: list[str], meeting: dict[str, Any],
             comment: str | None = None) -> list[str]:
        """Deliver one message to each recipient; returns the recipients it reached."""
        if not recipients:
            return []
        realism = self._realism()
        subject = meeting.get("meetingSubject") or ""
        if kind == "meetingCancellation":
            subject = "Canceled: " + subject
        received = _instant(self._clock)
        reason = self._over_limit(sender, len(recipients), realism)
        if reason is not None:
            self._stats.add("sendLimitExceeded")
            if realism.send_limit_mode == "reject":
                self._stats.add("messagesRejected", len(recipients))
                self._store.add_message(sender, "postmaster@" + sender.partition("@")[2], str(uuid.uuid4()), received, {
                    "type": "nonDeliveryReport", "subject": "Undeliverable: " + subject, "receivedUtc": received,
                    "from": "postmaster@" + sender.partition("@")[2], "comment": None, "recipients": recipients,
                    "eventId": meeting.get("eventId"), "reason": reason,
                })
                return []
        send_id = str(uuid.uuid4())
        for recipient in recipients:
            self._store.add_message(recipient, sender, send_id, received, {
                "type": kind, "subject": subject, "receivedUtc": received, "from": sender, "to": recipient,
                "comment": comment if kind == "meetingCancellation" else None, **meeting,
            })
            self._stats.message(kind)
        return recipients

    def _over_limit(self, sender: str, recipient_count: int, realism: Realism) -> str | None:
        """Why this send breaks the sender's limits, or None."""
        if realism.send_limit_mode == "off":
            return None
        sends, _ = self._store.sent_since(sender, _instant(self._clock, 60.0))
        if sends + 1 > realism.messages_per_minute:
            return "4.5.127 Message submission rate for this client has exceeded the configured limit."
        _, recipients = self._store.sent_since(sender, _instant(self._clock, DAY_SECONDS))
        if recipients + recipient_count > realism.recipients_per_day:
            return "5.1.90 Your message can't be sent because you've reached your daily limit for message recipients."
        return None
