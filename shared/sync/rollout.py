"""A roll-out: send what changed in content (templates, languages, the response setting) to invitations already sent.

Content changes that are not key changes (a template edited, the default language changed)
reach invitations already sent only when their offering is reconciled. A roll-out reconciles
on purpose every offering whose invitations would read differently: it first counts the
updates (a dry run with every offering reconciled), then marks those offerings for reconcile
and asks for a run, paced like any other work. A mark is cleared only once the run's writes
for the offering are done (shared/store/offerings.py), so no run skips a rolled-out offering:
a marked offering is planned whatever its digest says, until its updates are sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.store.allowance import Via
from shared.store.audit import audit
from shared.sync.service import RolloutCount, SyncRequest

if TYPE_CHECKING:
    from shared.bootstrap import App

log = logging.getLogger("learncal.rollout")

Starter = Callable[[SyncRequest], str | None]  # asks for (or performs) the run; its id


@dataclass(frozen=True)
class Rollout:
    count: RolloutCount
    dry_run: bool
    run_id: str | None = None
    marked_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "offerings": len(self.count.offerings), "updates": self.count.updates, "runId": self.run_id,
            "dryRun": self.dry_run, "invitations": self.count.creates, "cancellations": self.count.cancels,
            "templateVersion": self.count.template_version, "message": self.message,
        }

    @property
    def message(self) -> str:
        updates, offerings = self.count.updates, len(self.count.offerings)
        what = f"{updates} update{'s' if updates != 1 else ''} to invitations of {offerings} offering" + (
            "s" if offerings != 1 else "")
        others = ""
        if self.count.creates or self.count.cancels:
            others = (f" The feed also asks for {self.count.creates} new invitations and {self.count.cancels} "
                      "cancellations, which any run sends.")
        if not updates:
            return "Every invitation already reads as the templates in force render it: nothing to roll out." + others
        if self.dry_run:
            return f"A roll-out would send {what}. Nothing was marked or sent.{others}"
        return (f"Rolling out {what}: the offerings are marked for reconcile and run {self.run_id} sends the updates "
                f"at the organizers' pace.{others}")


def rollout(app: App, *, dry_run: bool, actor: str, via: Via, start: Starter, feed: str | None = None,
            count: RolloutCount | None = None) -> Rollout:
    """Count (unless `count` is the one just shown), then, unless a dry run or nothing differs, mark the
    offerings, audit, and start the run."""
    count = count or app.sync.count_rollout(feed)
    if dry_run or not count.offerings:
        return Rollout(count, dry_run)
    marked = app.offerings.request_reconcile_many(count.offerings)
    audit(app.tables, actor, "rollout.start", "templates", {
        "via": via, "offerings": len(count.offerings), "updates": count.updates,
        "templateVersion": count.template_version, "reconcileRequestedAt": marked,
    })
    run_id = start(SyncRequest(feed=feed, given_by=f"{actor} with a roll-out", via=via))
    log.warning("A roll-out by %s marked %d offerings for reconcile (%d updates); run %s sends them.", actor,
                len(count.offerings), count.updates, run_id)
    return Rollout(count, False, run_id, marked.isoformat())
