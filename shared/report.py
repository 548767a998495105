"""Human-readable run summaries for the terminal (rich), kept apart from the JSON form."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from shared.sync.summary import RunSummary


def print_summary(summary: RunSummary, console: Console | None = None) -> None:
    console = console or Console()
    colour = {"completed": "green", "skipped": "yellow", "failed": "red"}[summary.status]
    title = f"Sync run {summary.run_id}: [{colour}]{summary.status}[/{colour}]"
    if summary.dry_run:
        title += " (dry run)"
    console.print(title)
    if summary.message:
        console.print(summary.message)
    table = Table(show_header=False, box=None, pad_edge=False)
    for label, value in (
        ("invited", summary.created), ("updated", summary.updated), ("cancelled", summary.cancelled),
        ("sent again (deleted by hand)", len(summary.recreated)), ("unchanged", summary.unchanged),
        ("deferred", summary.deferred),
        ("waiting for reconcile", summary.waiting_for_reconcile), ("left out (allow-list)", summary.left_out),
        ("held (rejected items)", summary.held),
    ):
        if value or label in ("invited", "updated", "cancelled", "unchanged"):
            table.add_row(f"  {label}", str(value))
    console.print(table)
    for rejection in summary.rejected:
        console.print(f"  [yellow]rejected[/yellow] {rejection.path}: {rejection.reason}")
    for tag in summary.recreated:
        console.print(f"  [cyan]sent again[/cyan] {tag}: the meeting was deleted in the organizer's calendar")
    for warning in summary.warnings:
        console.print(f"  [yellow]warning[/yellow] {warning['message']}")
    for error in summary.errors:
        console.print(f"  [red]not applied[/red] {error['invitation']}: {error['message']}")
    if summary.plan:
        console.print("Plan:")
        for step in summary.plan:
            console.print(f"  {step['action']:<7} {step['offering']} / {step['activity']} -> {step['person']}")


def print_run(run: dict[str, Any], console: Console | None = None) -> None:
    """A recorded run (any state) as `learncal runs RUN_ID` and `learncal sync --wait` show it."""
    console = console or Console()
    state = str(run.get("state") or run.get("status"))
    colour = {"completed": "green", "skipped": "yellow", "failed": "red"}.get(state, "cyan")
    title = f"Run {run.get('runId')}: [{colour}]{state}[/{colour}]"
    if run.get("dryRun"):
        title += " (dry run)"
    console.print(title)
    if run.get("message"):
        console.print(str(run["message"]))
    table = Table(show_header=False, box=None, pad_edge=False)
    for label, key in (("asked for by", "startedBy"), ("via", "via"), ("requested", "requestedAt"),
                       ("follow-up of", "followUpOf"), ("requests served", "requests"), ("started", "startedAt"),
                       ("ended", "endedAt"), ("planned", "planned"), ("sent", "sent"), ("left", "left"),
                       ("invited", "created"), ("updated", "updated"), ("cancelled", "cancelled"),
                       ("unchanged", "unchanged"), ("deferred", "deferred")):
        value = run.get(key)
        if value not in (None, ""):
            table.add_row(f"  {label}", str(value))
    console.print(table)
    for rejection in run.get("rejected") or []:
        console.print(f"  [yellow]rejected[/yellow] {rejection.get('path')}: {rejection.get('reason')}")
    for error in run.get("errors") or []:
        console.print(f"  [red]not applied[/red] {error.get('invitation')}: {error.get('message')}")
    if run.get("plan"):
        console.print("Plan:")
        for step in run["plan"]:
            console.print(f"  {step['action']:<7} {step['offering']} / {step['activity']} -> {step['person']}")
