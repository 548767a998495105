"""`learncal`: the command line. Parses arguments, calls the services, chooses the words.

Every expected failure is a LearncalError; it is printed as one plain line on stderr with exit
code 1, never as a traceback, and never with a secret in it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shared.errors import LearncalError

F = TypeVar("F", bound=Callable[..., Any])


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str, code: int = 1) -> None:
    _stderr(f"Error: {message}")
    sys.exit(code)


def _development_tool(command: str) -> None:
    """The sandbox and the demo come with the repository, not with the deployed app: say so plainly."""
    try:
        import shared.local.demo
        import shared.local.serve
        import shared.sandbox  # noqa: F401
    except ModuleNotFoundError as error:
        missing = f" ({error.name} is missing)" if error.name else ""
        raise LearncalError(
            f"learncal {command} is a development tool and needs the development requirements{missing}: in a clone "
            "of the repository run `pip install -r requirements-dev.txt` (make demo and make test do it for you)."
        ) from None


class _Group(click.Group):
    """Turns the product's own errors into one plain line, wherever a command raises them."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LearncalError as error:
            _fail(str(error))
        except KeyboardInterrupt:
            _fail("Interrupted.", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as error:
            if os.environ.get("LEARNCAL_DEBUG"):
                raise
            _fail(f"Unexpected {type(error).__name__}. Run again with LEARNCAL_DEBUG=1 to see the details.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="learning-calendar-sync")
def cli() -> None:
    """Learning Calendar Sync: keeps Outlook calendars in step with instructor-led training."""


@cli.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".learncal/sandbox"), show_default=True, help="Where the sandbox keeps its state.")
@click.option("--port", type=int, default=0, show_default=True, help="Port to listen on (0: a free one).")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=Path),
              help="A tenant profile from `learncal tenant-probe`: behave like that tenant.")
@click.option("--organizers", type=click.IntRange(1, 50), default=None,
              help="How many organizer mailboxes the tenant has (an organizer pool; default: as before, first 1). "
                   "The start line lists them as `organizers`.")
def sandbox(data_dir: Path, port: int, profile: Path | None, organizers: int | None) -> None:
    """Serve the local Microsoft 365 sandbox (sign-in, Graph calendars, Key Vault) until stopped."""
    _development_tool("sandbox")
    from shared.sandbox import serve
    from shared.sandbox.profile import ProfileError

    try:
        serve(data_dir, port, profile=profile, organizers=organizers)
    except ProfileError as error:
        raise click.ClickException(str(error)) from None


PREVIEW = "preview"


def _allowance(value: str | None) -> int | bool:
    """`--allow-mass-cancel[=N]`: False when absent, True for this run's count, else N."""
    if value is None:
        return False
    if value == PREVIEW:
        return True
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise click.BadParameter("must be the number of cancellations to allow, such as --allow-mass-cancel=67",
                                 param_hint="--allow-mass-cancel")
    return int(value)


@cli.command()
@click.option("--feed", help="Path or https URL of the learning feed (default: LEARNCAL_FEED).")
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent; send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON object.")
@click.option("--allow-mass-cancel", "allow_mass_cancel", is_flag=False, flag_value=PREVIEW, default=None,
              metavar="[=N]", help="--allow-mass-cancel[=N]: allow up to N cancellations once past the "
              "mass-cancellation guard (N: the count the guard or --dry-run reported; a bare --allow-mass-cancel "
              "allows this run's count). Kept for 24 hours; used by the first run the guard would stop.")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
@click.option("--async", "run_async", is_flag=True, help="Ask for the run through the run queue (learncal-runs) and "
              "print its id; the Functions host performs it. A dry run's plan is then read with `learncal runs ID`.")
@click.option("--wait", is_flag=True, help="Follow the run to its end, printing its progress; the exit code is the "
              "run's. With a run in progress, waits for the follow-up run this request joined.")
def sync(feed: str | None, dry_run: bool, as_json: bool, allow_mass_cancel: str | None, quiet: bool,
         run_async: bool, wait: bool) -> None:
    """Run one sync: invitations, updates and cancellations for the feed.

    While another run is planning, the run is coalesced into the one follow-up run that starts
    when it ends (its id is printed); `--wait` follows that run to its end.
    """
    from shared.admin.changes import local_actor, record_sync_request
    from shared.bootstrap import build
    from shared.sync.service import SyncRequest

    allowance = _allowance(allow_mass_cancel)
    app = build(progress=None if quiet else _stderr)
    who = local_actor(app.settings)
    if not dry_run:
        record_sync_request(app.tables, who, via="cli", allowance=allowance)
    request = SyncRequest(feed=feed, dry_run=dry_run, allow_mass_cancel=allowance,
                          given_by=who + " with learncal sync", via="cli")
    if dry_run and not run_async:  # a local preview: nothing to coalesce, nothing recorded
        _print_summary(app.sync.sync(request), as_json)
    if run_async:
        ticket = app.request_run(request, started_by=who)
        _say_requested(ticket, queued=True)
        if not wait:
            click.echo(json.dumps(ticket.to_json()) if as_json else ticket.run_id)
            sys.exit(0)
        _wait_for(app, ticket.run_id, as_json=as_json, quiet=quiet, perform_here=False)
    from shared.runs.perform import run_now

    ticket, summary = run_now(app, request, started_by=who)
    if summary is not None:
        _print_summary(summary, as_json)
    _say_requested(ticket, queued=False)
    if not wait:
        click.echo(json.dumps(ticket.to_json()) if as_json else ticket.run_id)
        sys.exit(0)
    _wait_for(app, ticket.run_id, as_json=as_json, quiet=quiet, perform_here=True)


def _print_summary(summary: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        from shared.report import print_summary

        print_summary(summary)
    sys.exit(summary.exit_code)


def _say_requested(ticket: Any, *, queued: bool) -> None:
    """Why no summary follows: the request waits (joined, or behind a run in progress), or is queued."""
    if ticket.coalesced:
        _stderr(f"A run is already waiting to start; this request joined it: run {ticket.run_id}.")
    elif ticket.follow_up_of or not queued:
        after = f"Run {ticket.follow_up_of}" if ticket.follow_up_of else "Another run"
        _stderr(f"{after} is in progress; this request is run {ticket.run_id}, which starts when it ends.")
    else:
        _stderr(f"Run {ticket.run_id} is queued.")


def _wait_for(app: Any, run_id: str, *, as_json: bool, quiet: bool, perform_here: bool) -> None:
    from shared.runs.follow import exit_code, follow

    run = follow(app, run_id, show=(lambda _line: None) if quiet else _stderr, perform_here=perform_here)
    if as_json:
        click.echo(json.dumps(run, ensure_ascii=False))
    else:
        from shared.report import print_run

        print_run(run)
    sys.exit(exit_code(run))


@cli.command()
@click.argument("offering_id")
def reconcile(offering_id: str) -> None:
    """Mark an offering so the next run pushes every difference (titles, descriptions, primary instructor)."""
    from shared.admin.changes import local_actor
    from shared.bootstrap import build
    from shared.store.audit import audit

    app = build()
    state = app.offerings.request_reconcile(offering_id)
    requested = state.reconcile_requested_at
    audit(app.tables, local_actor(app.settings), "offering.reconcile", state.offering_id,
          {"via": "cli", "reconcileRequestedAt": requested.isoformat() if requested else None})
    click.echo(f"Offering {offering_id} is marked; the next sync run sends every difference to its attendees.")


@cli.command()
@click.argument("run_id", required=False)
@click.option("--limit", default=10, show_default=True, help="How many recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one run, or {\"value\": [runs], \"waiting\", "
              "\"organizers\": [...]} as GET /api/runs answers.")
def runs(run_id: str | None, limit: int, as_json: bool) -> None:
    """Show recent runs and each organizer's sending, or one run's progress and outcome (RUN_ID)."""
    from shared.bootstrap import build

    app = build()
    if run_id:
        run = app.runs.get(run_id)
        if run is None:
            raise LearncalError(f"No run with id {run_id} is recorded here; `learncal runs` lists the recent runs.")
        if as_json:
            click.echo(json.dumps(run, ensure_ascii=False))
        else:
            from shared.report import print_run

            print_run(run)
        return
    from shared.runs.follow import progress_line
    from shared.runs.overview import app_loads, line

    recent = app.runs.recent(limit)
    loads = app_loads(app)
    waiting = app.requests.waiting()
    poisoned = app.requests.queue.poisoned()
    if as_json:
        click.echo(json.dumps({"value": recent, "waiting": waiting, "organizers": loads,
                               "poisonedRequests": poisoned}, ensure_ascii=False))
        return
    for load in loads:
        click.echo(line(load))
    if waiting:
        click.echo(f"Run {waiting} waits to start.")
    if poisoned:
        click.echo(f"{poisoned} run requests failed five times and were set aside on the run queue's poison queue; "
                   "the logs of run_worker say why. Ask for a run again once the cause is fixed.")
    for run in recent:
        started = run.get("startedAt") or run.get("requestedAt") or ""
        click.echo(f"{str(started)[:19]}  {progress_line(run)}")


@cli.group(cls=_Group)
def queue() -> None:
    """The send queue: writes waiting for their organizer's budget, parked and poisoned work."""


def _queue_context() -> tuple[Any, Any]:
    from shared.bootstrap import build, effective_settings

    app = build()
    return effective_settings(app.settings, app.tables), app


@queue.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--organizer", help="Only this organizer's work.")
def queue_show(as_json: bool, organizer: str | None) -> None:
    """Per organizer: queued and parked writes, budget used, when the queue should be empty; poison messages."""
    from shared.queue.status import queue_status

    settings, app = _queue_context()
    report = queue_status(settings, app.tables, organizer=organizer)
    problems = bool(report["poison"]["count"] or report["parked"])
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        sys.exit(1 if problems else 0)
    if not report["organizers"]:
        click.echo("Nothing is queued.")
    for entry in report["organizers"]:
        empty = f", empty by about {entry['expectedEmptyAt']}" if entry["expectedEmptyAt"] else ""
        click.echo(f"{entry['organizer']}: {entry['queued']} queued, {entry['parked']} parked; sent "
                   f"{entry['sentLastMinute']}/{entry['perMinute']} in the last minute, "
                   f"{entry['sentLastDay']}/{entry['perDay']} in the last day; next session "
                   f"{entry['nextSessionStart'] or '-'}{empty}.")
    poison = report["poison"]
    if poison["count"]:
        click.echo(f"{poison['count']} wake-up messages failed five times and wait in {poison['queue']}: fix the "
                   "cause (see the learncal.queue.poison log records), then run `learncal queue requeue`.")
        for message in poison["messages"]:
            click.echo(f"  poison: organizer {message['organizer']}, run {message['runId']}, since "
                       f"{message['insertedOn']}")
    sys.exit(1 if problems else 0)


@queue.command("clear")
@click.option("--organizer", help="Only this organizer's work.")
@click.option("--offering", help="Only this offering's work.")
@click.option("--poison", is_flag=True, help="Also empty the poison queue.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def queue_clear(organizer: str | None, offering: str | None, poison: bool, yes: bool) -> None:
    """Remove queued writes (stops a wrong rollout); the next run decides those offerings again from the feed."""
    from shared.queue.status import clear_queue, queue_status

    settings, app = _queue_context()
    if not yes:
        report = queue_status(settings, app.tables, organizer=organizer)
        what = f"offering {offering}" if offering else f"{report['queued'] + report['parked']} writes"
        if not click.confirm(f"Remove the queued work of {what}{' for ' + organizer if organizer else ''}?"):
            raise LearncalError("Nothing was removed.")
    result = clear_queue(settings, app.tables, organizer=organizer, offering=offering, poison=poison)
    from shared.admin.changes import local_actor
    from shared.store.audit import audit

    audit(app.tables, local_actor(app.settings), "queue.clear", organizer or "all organizers",
          {"offering": offering, "removed": result["removed"], "poisonRemoved": result["poisonRemoved"], "via": "cli"})
    click.echo(f"Removed {result['removed']} queued writes of {len(result['offerings'])} offerings"
               + (f" and {result['poisonRemoved']} poison messages" if poison else "") + ". The next run decides "
               "them again from the feed; to stop a rollout for good, fix the feed or set the provider inactive.")


@queue.command("requeue")
def queue_requeue() -> None:
    """Put the poison queue's wake-ups back on the send queue (after fixing what made them fail)."""
    from shared.queue.status import requeue_poison

    settings, app = _queue_context()
    click.echo(f"{requeue_poison(settings, app.tables)} wake-up messages put back on the send queue.")


@queue.command("drain")
@click.option("--organizer", help="Whose work to send (default: every organizer with queued work).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per organizer.")
def queue_drain(organizer: str | None, as_json: bool) -> None:
    """Send queued work now in this process, for one time slice (LEARNCAL_RUN_SECONDS), as the send worker does."""
    from shared.queue.work import WorkStore

    _settings, app = _queue_context()
    for name in [organizer] if organizer else WorkStore(app.tables).organizers():
        result = app.sync.send_queued(name, None)
        if as_json:
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            data = result.to_json()
            click.echo(f"{name}: {data['created']} invited, {data['updated']} updated, {data['cancelled']} "
                       f"cancelled, {data['dropped']} dropped, {data['failed']} failed, {data['left']} left"
                       + (" (another drain is sending for this organizer)" if result.busy else "") + ".")


@cli.group(cls=_Group)
def feed() -> None:
    """Work with learning feeds."""


@feed.command("schema")
def feed_schema() -> None:
    """Print the feed's JSON Schema."""
    from shared.feed.schema import schema_text

    click.echo(schema_text())


@feed.command("example")
@click.argument("name", default="sample.json")
def feed_example(name: str) -> None:
    """Print a bundled example feed with its sessions moved to the coming weeks (default: the demo's)."""
    from shared.feed.examples import example_names, upcoming

    try:
        feed_document = upcoming(name)
    except FileNotFoundError:
        raise LearncalError(f"No example feed is called {name!r}; the examples are: "
                            + ", ".join(example_names()) + ".") from None
    click.echo(json.dumps(feed_document, ensure_ascii=False, indent=2))


@feed.command("check")
@click.argument("source")
@click.option("--mapping", "mapping_path", help="CSV mapping file to read a CSV export with "
              "(default: LEARNCAL_FEED_CSV_MAPPING).")
def feed_check(source: str, mapping_path: str | None) -> None:
    """Read a JSON or CSV feed and list what would be rejected, without syncing (exit 2 when items are rejected)."""
    from shared.feed.csvfeed import load_mapping
    from shared.feed.reader import read_feed

    result = read_feed(source, csv_mapping=load_mapping(mapping_path) if mapping_path else None)
    activities = sum(len(o.activities) for o in result.offerings)
    click.echo(f"{len(result.offerings)} offerings, {activities} activities accepted.")
    for rejection in result.rejections:
        click.echo(f"rejected {rejection.path}: {rejection.reason}")
    sys.exit(2 if result.rejections else 0)


@feed.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the feed and print what the next run would do; store nothing.")
@click.option("--force", is_flag=True, help="Store a feed the checks refuse (all items rejected, or past the "
              "mass-cancellation guard: then the cancellations shown are allowed once).")
@click.option("--account-url", help="Blob service URL of the feed drop, such as https://ACCOUNT.blob.core.windows.net "
              "(default: LEARNCAL_FEED_STORAGE__blobServiceUri); you sign in as yourself (az login).")
@click.option("--container", help="Container of the feed drop (default: LEARNCAL_FEED's, else feeds).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def feed_push(file: Path, dry_run: bool, force: bool, account_url: str | None, container: str | None,
              as_json: bool) -> None:
    """Upload a feed (JSON or CSV) into the feed drop, after the checks a run would make; it starts a sync."""
    from shared.admin.changes import local_actor
    from shared.feed.push import push

    result = push(file, dry_run=dry_run, force=force, account_url=account_url, container=container,
                  who=local_actor() + " with learncal feed push", progress=_stderr)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        from shared.feed.push import describe

        for line in describe(result):
            click.echo(line)
    if result.get("refusal") and not result.get("stored"):
        sys.exit(1)


@feed.command("history")
@click.option("--limit", default=20, show_default=True, help="How many feeds to show.")
def feed_history(limit: int) -> None:
    """The feeds received in the drop, newest first, as JSON lines: used, skipped or rejected, and why."""
    from shared.bootstrap import build
    from shared.store.feeds import FeedStore

    for row in FeedStore(build().tables).recent(limit):
        click.echo(json.dumps(row, ensure_ascii=False))


@feed.command("to-csv")
@click.argument("source")
@click.option("--delimiter", type=click.Choice([",", ";", "tab"]), default=",", show_default=True)
def feed_to_csv(source: str, delimiter: str) -> None:
    """Write a JSON feed in the CSV format (docs/feed-csv.md), with its trailer, to standard output."""
    from shared.feed.csvfeed.write import json_feed_as_csv
    from shared.feed.source import load

    text = json_feed_as_csv(load(source), delimiter="\t" if delimiter == "tab" else delimiter)
    click.echo(text, nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print {\"checks\": [...]} as one JSON object.")
@click.option("--probe-mailbox", help="A mailbox the app should NOT reach, to test its Exchange scope.")
def validate(as_json: bool, probe_mailbox: str | None) -> None:
    """Check the provider configuration against the tenant (exit 1 when a check fails)."""
    from shared.admin.context import Services
    from shared.provider.model import ValidateInput, parse
    from shared.validate.runner import target_for

    current = Services.build()
    proposal = parse(ValidateInput, {"probeMailbox": probe_mailbox}) if probe_mailbox else None
    report = current.validator.run(target_for(current.provider, proposal))
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for check in report.checks:
            about = f" [{check.mailbox}]" if check.mailbox else ""
            click.echo(f"{check.status.upper():4}  {check.name}{about}: {check.detail}")
            if check.fix:
                click.echo(f"      fix: {check.fix}")
    sys.exit(report.exit_code)


@cli.group(cls=_Group)
def provider() -> None:
    """Show or change the provider configuration (status, tenant, app, organizer, allow-list)."""


@provider.command("show")
def provider_show() -> None:
    """Print the configuration in force as JSON (the client secret only as a mask, the allow-lists in force)."""
    from shared.admin.context import Services

    click.echo(json.dumps(Services.build().provider.view(), ensure_ascii=False, indent=2))


@provider.command("set")
@click.option("--status", type=click.Choice(["active", "inactive"]), help="active: runs send; inactive: nothing.")
@click.option("--tenant-id", help="Microsoft Entra tenant (directory) ID.")
@click.option("--client-id", help="Application (client) ID of the registered app.")
@click.option("--organizer", help="One organizer mailbox (a pool of one).")
@click.option("--organizers", help="The organizer pool: comma-separated mailboxes; each offering is pinned to one.")
@click.option("--auth-mode", type=click.Choice(["secret", "federated"]), help="How the app signs in.")
@click.option("--allowlist", help="Comma-separated addresses and @domains, within LEARNCAL_RECIPIENT_ALLOWLIST when "
              "that is set; an empty string removes the stored list (with --confirm-allowlist-removal).")
@click.option("--client-secret-stdin", is_flag=True,
              help="Read the client secret from standard input and store it in Key Vault.")
@click.option("--default-language", help="The organisation's default language, a BCP 47 tag such as en, de or fr-CH "
              "(invitations without a language of their own, and languages without a template).")
@click.option("--confirm-organizer-change", is_flag=True,
              help="Change the organizer although invitations from another organizer are open.")
@click.option("--confirm-allowlist-removal", is_flag=True,
              help="Remove the stored recipient allow-list (--allowlist \"\"), which widens who is invited.")
@click.option("--request-responses", type=click.Choice(["true", "false", "environment"]),
              help="true: new invitations ask for a response and responses are collected; false: not; environment: "
                   "LEARNCAL_REQUEST_RESPONSES applies. Left out: the stored value stays.")
def provider_set(
    status: str | None, tenant_id: str | None, client_id: str | None, organizer: str | None, organizers: str | None,
    auth_mode: str | None, allowlist: str | None, client_secret_stdin: bool, default_language: str | None,
    confirm_organizer_change: bool, confirm_allowlist_removal: bool, request_responses: str | None = None,
) -> None:
    """Save the configuration: the given values over the configuration in force.

    The secret is read from standard input, never from an option, so it stays out of shell
    history and process lists.
    """
    from shared.admin.context import Services
    from shared.provider.model import ProviderInput, parse

    current = Services.build()
    config, _source = current.provider.current()
    data: dict[str, Any] = {
        "status": status or config.status,
        "tenantId": tenant_id or config.tenant_id,
        "clientId": client_id or config.client_id,
        "organizers": ([part.strip() for part in organizers.split(",") if part.strip()] if organizers is not None
                       else [organizer] if organizer else list(config.organizers)) or None,
        "authMode": auth_mode or config.auth_mode,
        "defaultLanguage": default_language or config.default_language,
        "confirmOrganizerChange": confirm_organizer_change,
        "confirmAllowlistRemoval": confirm_allowlist_removal,
    }
    if allowlist is not None:  # left out: the stored list stays as it is
        entries = [part.strip() for part in allowlist.split(",") if part.strip()]
        data["recipientAllowlist"] = entries or None
    if request_responses is not None:  # left out: the stored value stays as it is
        data["requestResponses"] = None if request_responses == "environment" else request_responses == "true"
    if client_secret_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise LearncalError("clientSecret: nothing was read from standard input.")
        data["clientSecret"] = secret
    from shared.admin.changes import local_actor, record_provider_save

    proposal: ProviderInput = parse(ProviderInput, data)
    actor = local_actor(current.settings)
    result = current.provider.save(proposal, actor=actor)
    record_provider_save(current.tables, current.settings, actor, config, result.config,
                         secret_set=proposal.new_secret() is not None, via="cli")
    click.echo(json.dumps(current.provider.render(result.config, "stored", result.notices), ensure_ascii=False,
                          indent=2))
    for notice in result.notices:
        _stderr(f"Note: {notice}")


@cli.command("audit")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.option("--since", help="Only changes at or after this date or time (2026-01-31, 2026-01-31T08:00:00Z).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500), help="How many entries.")
def audit_trail(as_json: bool, since: str | None, limit: int) -> None:
    """Who changed what and when (provider, secret, reconciles, runs, allowances, feed uploads), newest first."""
    from datetime import UTC, datetime

    from shared.admin.context import Services
    from shared.store.audit import AuditStore

    start = None
    if since:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter("must be a date or time such as 2026-01-31 or 2026-01-31T08:00:00Z",
                                     param_hint="--since") from None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    entries = AuditStore(Services.build().tables).recent(limit, start)
    for entry in entries:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
        else:
            changes = json.dumps(entry["changes"], ensure_ascii=False, sort_keys=True)
            click.echo(f"{entry['at']}  {entry['actor']}  {entry['action']}  {entry['target']}  {changes}")
    if not entries and not as_json:
        _stderr("No changes recorded" + (f" since {since}." if since else "."))


def _text_file(path: Path | None, option: str) -> str | None:
    """A template file's text (UTF-8, a byte-order mark dropped); a plain error naming the option otherwise."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LearncalError(f"{option}: {path} is not UTF-8 text; save it as UTF-8 and try again.") from None
    except OSError as error:
        raise LearncalError(f"{option}: {path} cannot be read ({error.strerror or type(error).__name__}).") from None


def _subject(text: str | None) -> str | None:
    """A subject file's one line: the newline an editor ends a file with is not part of it."""
    return text.rstrip("\r\n") if text is not None else None


def _template_problems(problems: list[dict[str, Any]]) -> None:
    for item in problems:
        where = f"{item['field']}{' line ' + str(item['line']) if item.get('line') else ''}"
        _stderr(f"{where}: {item['message']}")
        if item.get("fix"):
            _stderr(f"  fix: {item['fix']}")


@cli.group(cls=_Group)
def templates() -> None:
    """The invitation templates per role and language: list, show, set (a new version), preview; phrases.

    A saved template reaches invitations already sent only when their offering is reconciled or
    the templates are rolled out (learncal rollout); new invitations use it at once.
    """


def _template_services() -> Any:
    from shared.admin.context import Services

    return Services.build()


@templates.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print {\"value\": [...], \"defaultLanguage\", \"version\"} as "
              "GET /api/templates answers.")
def templates_list(as_json: bool) -> None:
    """Every template in force: role, language, version (0: built in), who saved it and when."""
    from shared.admin.context import using
    from shared.admin.templates import listing

    with using(_template_services()):
        shown = listing()
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False))
        return
    click.echo(f"Default language {shown['defaultLanguage']}; template set version {shown['version']}.")
    for row in shown["value"]:
        who = f"  {row['updatedAt']}  {row['updatedBy']}" if row["source"] == "stored" else "  built in"
        click.echo(f"{row['language']:<8} {row['role']:<18} v{row['version']}{who}")


@templates.command("show")
@click.argument("role")
@click.argument("language")
@click.option("--version", "version", type=click.IntRange(0), help="An earlier version (0: the built-in text).")
@click.option("--json", "as_json", is_flag=True, help="Print the template and its versions as one JSON object.")
def templates_show(role: str, language: str, version: int | None, as_json: bool) -> None:
    """Print one template's subject and body (ROLE: learner, primaryInstructor or instructor; LANGUAGE: en, de...)."""
    from shared.store.templates import TemplateStore, check_language, check_role

    role, language = check_role(role), check_language(language)
    store = TemplateStore(_template_services().tables)
    record = store.get(role, language) if version is None else store.version(role, language, version)
    if record is None:
        raise LearncalError(f"No {role} template in {language}" + (f" as version {version}" if version is not None
                            else "") + " is stored or built in; `learncal templates list` lists them, and "
                            "`learncal templates set` adds a language.")
    if as_json:
        versions = [v.to_json(with_text=False) for v in store.versions(role, language)]
        click.echo(json.dumps({**record.to_json(), "versions": versions}, ensure_ascii=False))
        return
    source = "built in" if record.builtin else f"saved {record.to_json()['updatedAt']} by {record.updated_by}"
    _stderr(f"{role} in {language}, version {record.version} ({source})")
    click.echo(f"Subject: {record.subject}")
    click.echo("")
    click.echo(record.body)


@templates.command("set")
@click.argument("role")
@click.argument("language")
@click.option("--subject-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A UTF-8 file holding the subject line (one line).")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A UTF-8 file holding the HTML body (at most 32,000 characters).")
def templates_set(role: str, language: str, subject_file: Path, body_file: Path) -> None:
    """Save a new version of one template after the checks; nothing already sent changes until a roll-out."""
    from shared.admin.changes import local_actor
    from shared.admin.templates import SAVED_NOTE, record_template_set
    from shared.store.templates import TemplateNotSaved, TemplateStore
    from shared.templates.model import TemplateText

    subject = _subject(_text_file(subject_file, "--subject-file")) or ""
    body = _text_file(body_file, "--body-file") or ""
    current = _template_services()
    actor = local_actor(current.settings)
    try:
        version = TemplateStore(current.tables).put(role, language, TemplateText(subject, body), actor)
    except TemplateNotSaved as error:
        _stderr(f"Error: the {role} template in {language} was not saved:")
        _template_problems(error.problems)
        sys.exit(1)
    from shared.store.templates import check_language

    language = check_language(language)
    record_template_set(current.tables, actor, role, language, version, subject, body, via="cli")
    click.echo(f"Saved the {role} template in {language} as version {version}.")
    _stderr(SAVED_NOTE.replace("(POST /api/rollout, learncal rollout)", "(learncal rollout)"))


@templates.command("phrases")
@click.argument("language")
@click.option("--json", "as_json", is_flag=True, help="Print the phrases, their keys, placeholders and versions as "
              "GET /api/templates/phrases/{language} answers.")
def templates_phrases(language: str, as_json: bool) -> None:
    """Print the phrases in force in LANGUAGE (the "Online" location, the cancellation comments), stored or built in."""
    from shared.admin.templates import phrases_view
    from shared.store.templates import TemplateStore, check_language

    current = _template_services()
    shown = phrases_view(TemplateStore(current.tables), check_language(language),
                         current.provider.current()[0].default_language)
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False))
        return
    source = "built in" if shown["source"] == "builtin" else f"saved {shown['updatedAt']} by {shown['updatedBy']}"
    _stderr(f"Phrases in {shown['language']}, version {shown['version']} ({source}); "
            "`learncal templates set-phrases` changes them.")
    for name in shown["keys"]:
        mark = "stored  " if name in shown["own"] else "built in"
        click.echo(f"{name:<28} {mark}  {shown['phrases'][name]}")
    older = [v for v in shown["versions"] if v["version"] != shown["version"]]
    if older:
        _stderr("Earlier versions: " + ", ".join(f"v{v['version']}" + (f" ({v['updatedAt']}, {v['updatedBy']})"
                                                                        if v["source"] == "stored" else " (built in)")
                                                  for v in older))


def _phrase_changes(path: Path) -> tuple[dict[str, Any], str]:
    """The phrase key -> text object of a --file (or the API's {"phrases": {...}} body), and the file's text."""
    text = _text_file(path, "--file") or ""
    try:
        found = json.loads(text)
    except json.JSONDecodeError as error:
        raise LearncalError(f"--file: {path} line {error.lineno} column {error.colno} is not valid JSON "
                            f"({error.msg}); write one object such as {{\"cancel.withdrew\": \"...\"}}.") from None
    if isinstance(found, dict) and set(found) == {"phrases"} and isinstance(found["phrases"], dict):
        found = found["phrases"]
    if not isinstance(found, dict):
        kind = {list: "array", str: "string", bool: "true or false", type(None): "null"}.get(type(found), "number")
        raise LearncalError(f"--file: {path} holds a JSON {kind}, not an object; write one object of "
                            "phrase key -> text (null: back to the built-in text).")
    return found, text


def _key_line(text: str, name: str) -> int | None:
    """The line of the file that names a phrase key, so a refusal points at it in the editor."""
    quoted = json.dumps(name, ensure_ascii=False)
    for number, line in enumerate(text.splitlines(), 1):
        if quoted in line:
            return number
    return None


@templates.command("set-phrases")
@click.argument("language")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A UTF-8 JSON file: one object of phrase key -> text (null: back to the built-in text).")
def templates_set_phrases(language: str, file: Path) -> None:
    """Save a new version of LANGUAGE's phrases after the checks; keys left out keep their text.

    Nothing already sent changes until the offering is reconciled or the templates are rolled out.
    """
    from shared.admin.changes import local_actor
    from shared.admin.templates import SAVED_NOTE, record_phrases_set
    from shared.store.templates import TemplateNotSaved, TemplateStore, check_language

    language = check_language(language)
    changes, text = _phrase_changes(file)
    current = _template_services()
    actor = local_actor(current.settings)
    try:
        version = TemplateStore(current.tables).put_phrases(language, changes, actor)
    except TemplateNotSaved as error:
        _stderr(f"Error: the phrases in {language} were not saved:")
        for item in error.problems:
            name = str(item["field"]).removeprefix("phrases.")
            at = _key_line(text, name) if item["field"] != "phrases" else None
            item = {**item, "field": item["field"] + (f" ({file.name} line {at})" if at else "")}
            _template_problems([item])
        sys.exit(1)
    record_phrases_set(current.tables, actor, language, version, changes, via="cli")
    click.echo(f"Saved the phrases in {language} as version {version}.")
    _stderr("Cancellations from now on carry the new comments. " + SAVED_NOTE.replace(
        "(POST /api/rollout, learncal rollout)", "(learncal rollout)"))


@templates.command("preview")
@click.argument("role")
@click.argument("language")
@click.option("--subject-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A subject to preview (default: the template in force).")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A body to preview (default: the template in force).")
@click.option("--offering", "offering_id", help="The offering of the feed to render (default: the feed's first).")
@click.option("--feed", help="Path or https URL of the feed (default: LEARNCAL_FEED).")
@click.option("--json", "as_json", is_flag=True, help="Print {subject, body, problems, ...} as one JSON object.")
def templates_preview(role: str, language: str, subject_file: Path | None, body_file: Path | None,
                      offering_id: str | None, feed: str | None, as_json: bool) -> None:
    """Render a template for a real offering of the feed, as its invitation would read; nothing is saved or sent."""
    from dataclasses import replace

    from shared.admin.template_preview import preview
    from shared.store.templates import check_language, check_role

    current = _template_services()
    settings = current.provider.effective_settings()
    if feed:
        settings = replace(settings, feed=feed)
    shown = preview(settings, current.tables, role=check_role(role), language=check_language(language),
                    subject=_subject(_text_file(subject_file, "--subject-file")),
                    body=_text_file(body_file, "--body-file"), offering_id=offering_id,
                    default_language=current.provider.current()[0].default_language)
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False))
    else:
        if shown["problems"]:
            _template_problems(shown["problems"])
        else:
            _stderr(f"{role} of offering {shown.get('offeringId')} ({shown.get('person')}), in {language}:")
            click.echo(f"Subject: {shown['subject']}")
            click.echo("")
            click.echo(shown["body"])
    sys.exit(1 if shown["problems"] else 0)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Only count the updates; mark and send nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation after the count.")
@click.option("--json", "as_json", is_flag=True, help="Print {\"offerings\", \"updates\", \"runId\", ...} as one JSON "
              "object (with the run's summary as \"run\" when it was performed here).")
@click.option("--feed", help="Path or https URL of the learning feed (default: LEARNCAL_FEED).")
@click.option("--async", "run_async", is_flag=True, help="Ask for the run through the run queue (the Functions host "
              "performs it) instead of performing it here.")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def rollout(dry_run: bool, yes: bool, as_json: bool, feed: str | None, run_async: bool, quiet: bool) -> None:
    """Send the content in force (templates, languages) to invitations already sent, after showing the count.

    Counts the updates (a dry run with every offering reconciled), asks for confirmation, then
    marks those offerings for reconcile and runs the sync, paced like any other work.
    """
    from shared.admin.changes import local_actor
    from shared.bootstrap import build
    from shared.sync.rollout import rollout as roll_out

    app = build(progress=None if quiet else _stderr)
    who = local_actor(app.settings)
    counted = roll_out(app, dry_run=True, actor=who, via="cli", start=lambda _r: None, feed=feed)
    if dry_run or not counted.count.updates:
        click.echo(json.dumps(counted.to_json(), ensure_ascii=False) if as_json else counted.message)
        return
    if not yes:
        _stderr(counted.message.replace(" Nothing was marked or sent.", ""))
        try:
            confirmed = click.confirm(f"Send {counted.count.updates} updates now?", err=True)
        except click.exceptions.Abort:  # no answer (standard input closed or Ctrl+C)
            confirmed = False
        if not confirmed:
            raise LearncalError("Nothing was marked or sent (add --yes to skip this question).")
    performed: dict[str, Any] = {}

    def start(request: Any) -> str | None:
        if run_async:
            ticket = app.request_run(request, started_by=who)
            return str(ticket.run_id)
        from shared.runs.perform import run_now

        ticket, summary = run_now(app, request, started_by=who)
        performed["summary"] = summary
        return str(ticket.run_id)

    result = roll_out(app, dry_run=False, actor=who, via="cli", start=start, feed=feed, count=counted.count)
    summary = performed.get("summary")
    if as_json:
        answer = result.to_json()
        if summary is not None:
            answer["run"] = summary.to_json()
        click.echo(json.dumps(answer, ensure_ascii=False))
    else:
        click.echo(result.message)
        if summary is not None:
            from shared.report import print_summary

            print_summary(summary)
    sys.exit(summary.exit_code if summary is not None else 0)


@cli.command("responses")
@click.option("--offering", "offering_id", help="Only this offering's invitations.")
@click.option("--session", "activity_id", help="Only this session (activity id).")
@click.option("--person", "email", help="Only this attendee's e-mail address.")
@click.option("--response", "response", help="Only this answer: none, accepted, tentativelyAccepted or declined.")
@click.option("--since", help="Only answers recorded at or after this date or time (2026-01-31, 2026-01-31T08:00:00Z).")
@click.option("--limit", type=click.IntRange(1), help="At most this many (default: all, page after page).")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"items": [...], "next": token|null} as GET /api/responses answers.')
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with the header offeringId,activityId,email,role,"
              "response,respondedAt.")
@click.option("--recorded", is_flag=True,
              help="Show what is recorded without reading the organizers' calendars for new answers first.")
def responses(offering_id: str | None, activity_id: str | None, email: str | None, response: str | None,
              since: str | None, limit: int | None, as_json: bool, as_csv: bool, recorded: bool) -> None:
    """Attendees' answers to their invitations (who accepted, declined, is tentative or has not answered).

    While response collection is on, each organizer's calendar is read for answers that changed
    first (one request per mailbox when nothing changed; no message is sent), so the report is
    current even where Graph's change notifications cannot reach (this machine).
    """
    from shared.admin.problem import Problem
    from shared.admin.responses import MAX_LIMIT, parse_query
    from shared.settings import Settings
    from shared.store.responses import ResponseStore
    from shared.store.tables import Tables, table_service

    if as_json and as_csv:
        raise click.UsageError("Choose one of --json and --csv.")
    options = {"offeringId": "--offering", "activityId": "--session", "email": "--person", "response": "--response",
               "changedSince": "--since"}
    values = {"offeringId": offering_id, "activityId": activity_id, "email": email, "response": response,
              "changedSince": since}
    try:
        query = parse_query({k: v for k, v in values.items() if v is not None})
    except Problem as problem:
        field = (problem.errors or [{}])[0].get("field", "")
        message = (problem.errors or [{}])[0].get("message", problem.detail)
        raise click.BadParameter(message, param_hint=options.get(field, field)) from None
    settings = Settings.from_env()
    tables = Tables(table_service(settings), prefix=settings.table_prefix)
    if not recorded:
        from shared.responses.runner import read_now

        read = read_now(settings, tables=tables)
        if read is not None:
            _stderr(f"Read {len(read.organizers)} organizer mailbox(es): {read.changed} answer(s) changed.")
            for failed in read.problems:
                _stderr(f"Could not read {failed}; the answers shown are those recorded before.")
    store = ResponseStore(tables)
    items: list[Any] = []
    after: str | None = None
    while True:
        wanted = MAX_LIMIT if limit is None else min(MAX_LIMIT, limit - len(items))
        page = store.query(**query.store_filters(), limit=wanted, after=after)
        items.extend(page.items)
        after = page.next
        if after is None or (limit is not None and len(items) >= limit):
            break
    rows = [record.item() for record in items]
    if as_json:
        click.echo(json.dumps({"items": rows, "next": after}, ensure_ascii=False))
    elif as_csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=["offeringId", "activityId", "email", "role", "response",
                                                        "respondedAt"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    else:
        for row in rows:
            click.echo(f"{row['respondedAt'] or '-':20}  {row['response']:19}  {row['role']:17}  {row['email']}  "
                       f"{row['offeringId']} / {row['activityId']}")
        if not rows:
            _stderr("No responses recorded" + (" that match." if any(values.values()) else "."))
        elif after is not None:
            _stderr(f"More responses follow; raise --limit (shown: {len(rows)}).")
        if settings.response_webhook_url:
            from shared.responses.webhook import poisoned

            stuck = poisoned(settings)
            if stuck:
                _stderr(f"{stuck} response change(s) could not be posted to the webhook after five attempts and wait "
                        "in the queue learncal-webhooks-poison; fix the receiver, then move them back to "
                        "learncal-webhooks.")


@cli.group(cls=_Group)
def mapping() -> None:
    """The record of what was sent to whom (the mapping)."""


@mapping.command("rebuild")
@click.option("--organizer", help="Whose calendar to read (default: the organizer in force).")
@click.option("--dry-run", is_flag=True, help="Report what would be restored; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def mapping_rebuild(organizer: str | None, dry_run: bool, as_json: bool) -> None:
    """Restore the mapping from the tagged meetings in the organizer's calendar (exit 2: some need a look)."""
    from shared.bootstrap import build, make_gateway_factory
    from shared.store.lease import LeaseStore
    from shared.sync.rebuild import MappingRebuild

    app = build()
    mailbox = organizer or app.sync.organizer()
    if not mailbox:
        raise LearncalError("No organizer: pass --organizer or set LEARNCAL_ORGANIZER.")
    # under the organizer's run lease: refused while a sync run talks to the same mailbox
    rebuild = MappingRebuild(make_gateway_factory(app.settings), app.mapping, app.offerings, LeaseStore(app.tables))
    report = rebuild.run(mailbox, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        verb = "would restore" if dry_run else "restored"
        click.echo(f"{mailbox}: {verb} {report.restored} mapping rows, {report.already} already right"
                   + (f", {report.without_state} without fingerprints (they get one update)"
                      if report.without_state else "") + ".")
        for item in report.unreadable:
            click.echo(f"unreadable: event {item['eventId']}: {item['reason']}")
        for item in report.duplicates:
            click.echo(f"duplicates: {item['tag']}: events {', '.join(item['eventIds'])} (kept {item['kept']})")
    sys.exit(report.exit_code)


@cli.command("tenant-probe")
@click.option("--mailbox", help="The test mailbox the probe creates its meetings in (required).")
@click.option("--attendee", help="The one test person the probe invites (required; nobody else is sent anything).")
@click.option("--profile-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the tenant profile here (load it with learncal sandbox --profile FILE).")
@click.option("--json", "as_json", is_flag=True, help="Print the tenant profile as one JSON object.")
def tenant_probe(mailbox: str | None, attendee: str | None, profile_out: Path | None, as_json: bool) -> None:
    """Measure how a test tenant answers what the sandbox assumes, and write it as a tenant profile.

    Run it against the organisation's own test tenant before the first production run. It signs in
    as `learncal sync` does, creates a few meetings in the test mailbox (one with the test
    attendee), and removes them all again. Exit 1 when it could not remove every probe meeting.
    """
    from shared.probe import ProbeTarget, run_probe
    from shared.probe.runner import settings_in_force
    from shared.settings import Settings

    target = ProbeTarget.parse(mailbox, attendee)  # before anything is read or sent
    profile = run_probe(settings_in_force(Settings.from_env()), target)
    if profile_out is not None:
        profile.write(profile_out)
    if as_json:
        click.echo(json.dumps(profile.to_json(), ensure_ascii=False))
    else:
        from shared.probe.report import print_profile

        print_profile(profile)
        if profile_out is not None:
            click.echo(f"Profile written to {profile_out}; rehearse with: learncal sandbox --profile {profile_out}")
    sys.exit(0 if profile.clean else 1)


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox and Azurite running until Ctrl+C.")
def demo(keep: bool) -> None:
    """The whole product on this machine: Azurite + sandbox + a bundled feed, then who got what."""
    _development_tool("demo")
    from shared.local.demo import run_demo

    sys.exit(run_demo(keep=keep))


@cli.command()
@click.option("--port", type=int, default=7071, show_default=True, help="Port on 127.0.0.1 (0: a free one).")
@click.option("--sandbox", "use_sandbox", is_flag=True,
              help="Run against the local Microsoft 365 sandbox and Azurite (the default when nothing is configured).")
def serve(port: int, use_sandbox: bool) -> None:
    """The function app's HTTP routes and the admin console on this machine, with a local sign-in."""
    _development_tool("serve")
    from shared.local.serve import run

    def say(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    sys.exit(run(port=port, sandbox=use_sandbox, say=say))


def main() -> None:
    if not os.environ.get("LEARNCAL_DEBUG"):
        # The SDKs log each failed attempt as a warning; the command reports the outcome itself.
        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("azure").setLevel(logging.ERROR)
    cli(prog_name="learncal")


if __name__ == "__main__":
    main()
