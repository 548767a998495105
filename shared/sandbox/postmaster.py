"""The single place where every meeting message is delivered and recorded.

Exchange Online limits each sending mailbox (about 30 messages a minute, 10,000 recipients a
day) and meeting requests, updates and cancellations all count. Depending on the realism
switch an over-limit send is only counted (`record`), or not delivered and answered with a
non-delivery report to the sender (`reject`).
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.sandbox.clock import Clock
from shared.sandbox.realism import Realism
from shared.sandbox.stats import Stats
from shared.sandbox.store import Store

_NO_COMMENT = frozenset({"meetingRequest", "meetingUpdate"})
MINUTE_SECONDS = 60.0
DAY_SECONDS = 86_400.0


@dataclass
class _Ledger:
    """One sender's sends of the last day as (timestamp, recipients), with running totals.

    Kept in memory so that checking the limits costs O(1) per send even with a day of
    100k messages behind it; rebuilt from the store the first time a sender is seen.
    """

    day: deque[tuple[float, int]] = field(default_factory=deque)
    minute: deque[float] = field(default_factory=deque)
    recipients: int = 0  # sum over `day`

    def advance(self, now: float) -> None:
        while self.day and self.day[0][0] <= now - DAY_SECONDS:
            self.recipients -= self.day.popleft()[1]
        while self.minute and self.minute[0] <= now - MINUTE_SECONDS:
            self.minute.popleft()

    def add(self, moment: float, recipients: int) -> None:
        self.day.append((moment, recipients))
        self.minute.append(moment)
        self.recipients += recipients


class Postmaster:
    def __init__(self, store: Store, clock: Clock, stats: Stats, realism: Callable[[], Realism]) -> None:
        self._store = store
        self._clock = clock
        self._stats = stats
        self._realism = realism
        self._lock = threading.Lock()
        self._ledgers: dict[str, _Ledger] = {}

    def reset(self) -> None:
        with self._lock:
            self._ledgers.clear()

    def send(self, kind: str, sender: str, recipients: list[str], meeting: dict[str, Any],
             comment: str | None = None, *, subject: str | None = None,
             extra: dict[str, Any] | None = None) -> list[str]:
        """Deliver one message to each recipient; returns the recipients it reached.

        Meeting requests, updates and cancellations carry the organizer's comment only on a
        cancellation; a response (`meetingAccepted`, …) carries the attendee's comment.
        """
        if not recipients:
            return []
        realism = self._realism()
        if subject is None:
            subject = meeting.get("meetingSubject") or ""
            if kind == "meetingCancellation":
                subject = "Canceled: " + subject
        # Always store first, then the ledger lock: one lock order, and the messages commit together.
        with self._store.transaction():
            return self._deliver(kind, sender, recipients, {**meeting, **(extra or {})}, comment, subject, realism)

    def _deliver(self, kind: str, sender: str, recipients: list[str], meeting: dict[str, Any],
                 comment: str | None, subject: str, realism: Realism) -> list[str]:
        now = self._clock.now()
        received = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._lock:
            reason = self._over_limit(sender, len(recipients), now.timestamp(), realism)
        if reason is not None:
            self._stats.add("sendLimitExceeded")
            if realism.send_limit_mode == "reject":
                self._stats.add("messagesRejected", len(recipients))
                postmaster = "postmaster@" + sender.partition("@")[2]
                self._store.add_message(sender, postmaster, str(uuid.uuid4()), received, {
                    "type": "nonDeliveryReport", "subject": "Undeliverable: " + subject, "receivedUtc": received,
                    "from": postmaster, "comment": None, "recipients": recipients,
                    "eventId": meeting.get("eventId"), "reason": reason,
                })
                return []
        send_id = str(uuid.uuid4())
        for recipient in recipients:
            self._store.add_message(recipient, sender, send_id, received, {
                "type": kind, "subject": subject, "receivedUtc": received, "from": sender, "to": recipient,
                "comment": comment if kind not in _NO_COMMENT else None, **meeting,
            })
            self._stats.message(kind)
        with self._lock:
            self._ledger(sender, now.timestamp()).add(now.timestamp(), len(recipients))
        return recipients

    def _ledger(self, sender: str, now: float) -> _Ledger:
        ledger = self._ledgers.get(sender)
        if ledger is None:
            ledger = _Ledger()
            for stamp, count in self._store.sends_since(sender, now - DAY_SECONDS):
                ledger.add(stamp, count)
            self._ledgers[sender] = ledger
        ledger.advance(now)
        return ledger

    def _over_limit(self, sender: str, recipient_count: int, now: float, realism: Realism) -> str | None:
        """Why this send breaks the sender's limits, or None."""
        if realism.send_limit_mode == "off":
            return None
        ledger = self._ledger(sender, now)
        if len(ledger.minute) + 1 > realism.messages_per_minute:
            return "4.5.127 Message submission rate for this client has exceeded the configured limit."
        if ledger.recipients + recipient_count > realism.recipients_per_day:
            return "5.1.90 Your message can't be sent because you've reached your daily limit for message recipients."
        return None
