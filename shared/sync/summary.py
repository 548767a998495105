"""The outcome of one run, as the CLI prints it, the admin API returns it, and the runs table keeps it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from shared.domain import Rejection

RunStatus = Literal["completed", "skipped", "failed"]


@dataclass
class RunSummary:
    run_id: str
    started_at: datetime
    status: RunStatus = "completed"
    ended_at: datetime | None = None
    dry_run: bool = False
    organizer: str | None = None
    organizers: list[str] = field(default_factory=list)  # the pool in force
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    recreated: list[str] = field(default_factory=list)  # tags of meetings deleted by hand and sent anew
    unchanged: int = 0
    deferred: int = 0
    left_out: int = 0
    held: int = 0
    waiting_for_reconcile: int = 0
    offerings_examined: int = 0
    offerings_unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    skipped: str | None = None
    message: str | None = None
    reconciled: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped admitting work early (its lease), if it did
    mass_cancel_allowance: dict[str, Any] | None = None  # the allowance this run used to pass the guard
    plan: list[dict[str, Any]] | None = None  # dry runs: what would be done
    # Things an administrator should know although nothing failed, e.g. an offering pinned anew:
    # {"kind": "organizer-repinned", "offeringId", "from", "to", "message"}
    warnings: list[dict[str, str]] = field(default_factory=list)
    failure: str | None = None  # kind of error that failed the run (e.g. MassCancellationStopped), for alerts
    # the blob a `blob:` run read (container, name, size, lastModified, sha256, format) and the uploads it skipped
    feed: dict[str, Any] | None = None
    guard: dict[str, Any] | None = None  # dry runs: what would stop a real run (cancellations, live, reason)
    # invitations rendered in the default language because their own language had no template
    template_fallbacks: int = 0

    @property
    def exit_code(self) -> int:
        """0: all applied; 2: completed, some feed items rejected; 1: the run (or a send) failed."""
        if self.status == "failed" or self.errors:
            return 1
        if self.rejected:
            return 2
        return 0

    def finish(self, status: RunStatus | None = None, message: str | None = None) -> RunSummary:
        if status:
            self.status = status
        if message:
            self.message = message
        self.ended_at = datetime.now(UTC)
        return self

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        out: dict[str, Any] = {
            "runId": self.run_id,
            "status": self.status,
            "startedAt": self.started_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "dryRun": self.dry_run,
            "organizer": self.organizer,
            "organizers": list(self.organizers),
            "created": self.created,
            "updated": self.updated,
            "cancelled": self.cancelled,
            "recreated": len(self.recreated),
            "recreatedTags": list(self.recreated),
            "unchanged": self.unchanged,
            "deferred": self.deferred,
            "leftOut": self.left_out,
            "held": self.held,
            "waitingForReconcile": self.waiting_for_reconcile,
            "offeringsExamined": self.offerings_examined,
            "offeringsUnchanged": self.offerings_unchanged,
            "rejected": data["rejected"],
            "errors": self.errors,
            "skipped": self.skipped,
            "message": self.message,
            "reconciled": self.reconciled,
            "stopped": self.stopped,
            "massCancelAllowance": self.mass_cancel_allowance,
            "warnings": [dict(w) for w in self.warnings],
            "templateFallbacks": self.template_fallbacks,
        }
        if self.plan is not None:
            out["plan"] = self.plan
        if self.failure is not None:
            out["failure"] = self.failure
        if self.feed is not None:
            out["feed"] = self.feed
        if self.guard is not None:
            out["massCancelGuard"] = self.guard
        return out
