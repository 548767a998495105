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
def sandbox(data_dir: Path, port: int) -> None:
    """Serve the local Microsoft 365 sandbox (sign-in, Graph calendars, Key Vault) until stopped."""
    from shared.sandbox import serve

    serve(data_dir, port)


@cli.command()
@click.option("--feed", help="Path or https URL of the learning feed (default: LEARNCAL_FEED).")
@click.option("--dry-run", is_flag=True, help="Plan only: show what would be sent; send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON object.")
@click.option("--allow-mass-cancel", is_flag=True, help="Go ahead even if the run cancels an unusual share.")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def sync(feed: str | None, dry_run: bool, as_json: bool, allow_mass_cancel: bool, quiet: bool) -> None:
    """Run one sync: invitations, updates and cancellations for the feed."""
    from shared.bootstrap import build
    from shared.sync.service import SyncRequest

    app = build(progress=None if quiet else _stderr)
    summary = app.sync.sync(SyncRequest(feed=feed, dry_run=dry_run, allow_mass_cancel=allow_mass_cancel))
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        from shared.report import print_summary

        print_summary(summary)
    sys.exit(summary.exit_code)


@cli.command()
@click.argument("offering_id")
def reconcile(offering_id: str) -> None:
    """Mark an offering so the next run pushes every difference (titles, descriptions, primary instructor)."""
    from shared.bootstrap import build

    app = build()
    app.offerings.request_reconcile(offering_id)
    click.echo(f"Offering {offering_id} is marked; the next sync run sends every difference to its attendees.")


@cli.command()
@click.option("--limit", default=10, show_default=True, help="How many recent runs to show.")
def runs(limit: int) -> None:
    """Show recent runs, newest first (as JSON lines)."""
    from shared.bootstrap import build

    for run in build().runs.recent(limit):
        click.echo(json.dumps(run, ensure_ascii=False))


@cli.group(cls=_Group)
def feed() -> None:
    """Work with learning feeds."""


@feed.command("schema")
def feed_schema() -> None:
    """Print the feed's JSON Schema."""
    from shared.feed.schema import schema_text

    click.echo(schema_text())


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
            click.echo(f"{check.status.upper():4}  {check.name}: {check.detail}")
            if check.fix:
                click.echo(f"      fix: {check.fix}")
    sys.exit(report.exit_code)


@cli.group(cls=_Group)
def provider() -> None:
    """Show or change the provider configuration (status, tenant, app, organizer, allow-list)."""


@provider.command("show")
def provider_show() -> None:
    """Print the configuration in force as JSON (the client secret only as a mask)."""
    from shared.admin.context import Services

    click.echo(json.dumps(Services.build().provider.view(), ensure_ascii=False, indent=2))


@provider.command("set")
@click.option("--status", type=click.Choice(["active", "inactive"]), help="active: runs send; inactive: nothing.")
@click.option("--tenant-id", help="Microsoft Entra tenant (directory) ID.")
@click.option("--client-id", help="Application (client) ID of the registered app.")
@click.option("--organizer", help="The mailbox every invitation comes from.")
@click.option("--auth-mode", type=click.Choice(["secret", "federated"]), help="How the app signs in.")
@click.option("--allowlist", help="Comma-separated addresses and @domains; an empty string clears it.")
@click.option("--client-secret-stdin", is_flag=True,
              help="Read the client secret from standard input and store it in Key Vault.")
@click.option("--confirm-organizer-change", is_flag=True,
              help="Change the organizer although invitations from another organizer are open.")
def provider_set(
    status: str | None, tenant_id: str | None, client_id: str | None, organizer: str | None, auth_mode: str | None,
    allowlist: str | None, client_secret_stdin: bool, confirm_organizer_change: bool,
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
        "organizer": organizer or config.organizer,
        "authMode": auth_mode or config.auth_mode,
        "recipientAllowlist": list(config.recipient_allowlist) if allowlist is None
        else [part.strip() for part in allowlist.split(",") if part.strip()],
        "confirmOrganizerChange": confirm_organizer_change,
    }
    if client_secret_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise LearncalError("clientSecret: nothing was read from standard input.")
        data["clientSecret"] = secret
    result = current.provider.save(parse(ProviderInput, data))
    click.echo(json.dumps(current.provider.render(result.config, "stored", result.notices), ensure_ascii=False,
                          indent=2))
    for notice in result.notices:
        _stderr(f"Note: {notice}")


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
    from shared.sync.service import LEASE_SECONDS, LeaseKeeper

    app = build()
    mailbox = organizer or app.sync.organizer()
    if not mailbox:
        raise LearncalError("No organizer: pass --organizer or set LEARNCAL_ORGANIZER.")
    leases = LeaseStore(app.tables)  # no sync run may write the mapping while it is rebuilt
    keeper = None if dry_run else LeaseKeeper(leases, leases.acquire(mailbox, seconds=LEASE_SECONDS))
    try:
        report = MappingRebuild(make_gateway_factory(app.settings), app.mapping, app.offerings).run(
            mailbox, dry_run=dry_run)
    finally:
        if keeper is not None:
            keeper.release()
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


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox and Azurite running until Ctrl+C.")
def demo(keep: bool) -> None:
    """The whole product on this machine: Azurite + sandbox + a bundled feed, then who got what."""
    from shared.local.demo import run_demo

    sys.exit(run_demo(keep=keep))


def main() -> None:
    if not os.environ.get("LEARNCAL_DEBUG"):
        # The SDKs log each failed attempt as a warning; the command reports the outcome itself.
        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("azure").setLevel(logging.ERROR)
    cli(prog_name="learncal")


if __name__ == "__main__":
    main()
