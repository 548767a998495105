"""`learncal demo`: Azurite, the sandbox and a bundled feed, then a table of who received what.

Nothing here is configured by the user and nothing leaves the machine: the sandbox stands in
for Microsoft 365, Azurite for Azure Storage.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shared.feed.examples import SAMPLE, write_upcoming
from shared.local.azurite import start_azurite
from shared.local.queue_host import HostOptions, QueueHost
from shared.local.stopping import sigterm_interrupts
from shared.sandbox.client import SandboxClient
from shared.settings import Settings

SAMPLE_FEED = Path(__file__).resolve().parents[1] / "feed" / "examples" / "sample.json"


def sandbox_environment(info: dict[str, str], storage: str) -> dict[str, str]:
    """The configuration that points the product at a running sandbox and Azurite."""
    return {
        "LEARNCAL_TENANT_ID": info["tenantId"],
        "LEARNCAL_CLIENT_ID": info["clientId"],
        "LEARNCAL_CLIENT_SECRET": info["clientSecret"],
        "LEARNCAL_ORGANIZER": info["organizer"],
        "LEARNCAL_GRAPH_URL": info["graphUrl"],
        "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
        "LEARNCAL_STATUS": "active",
        "LEARNCAL_SEND_PER_MINUTE": "600",
        "AzureWebJobsStorage": storage,
        "SSL_CERT_FILE": info["caFile"],
        "REQUESTS_CA_BUNDLE": info["caFile"],
    }


def _first_start(feed: str) -> str:
    from shared.feed.reader import read_feed

    starts = [a.start_local for o in read_feed(feed).offerings for a in o.activities]
    return f"{min(starts):%Y-%m-%d}" if starts else "-"


def run_demo(*, keep: bool = False, console: Console | None = None) -> int:
    from shared import sandbox
    from shared.bootstrap import build
    from shared.feed.reader import read_feed
    from shared.report import print_summary
    from shared.sync.service import SyncRequest

    # A pipe or a CI log has no width; 80 columns would cut every address in half.
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    began = time.monotonic()
    with sigterm_interrupts(), tempfile.TemporaryDirectory(prefix="learncal-demo-") as workdir:
        console.print("[bold]Learning Calendar Sync demo[/bold]: nothing leaves this machine.")
        with start_azurite() as azurite:
            console.print(f"  Azure Storage emulator (Azurite) on 127.0.0.1:{azurite.port}")
            with sandbox.start(Path(workdir) / "sandbox") as running:
                info = running.info
                console.print(f"  Microsoft 365 sandbox at {info['graphUrl']} (organizer {info['organizer']})")
                env = sandbox_environment(info, azurite.connection_string)
                os.environ.update(env)
                settings = Settings.from_env(env)
                app = build(settings, progress=lambda m: console.print(f"  [dim]{m}[/dim]"))
                host = _queue_host(settings).start()  # sends whatever a run leaves queued, as in Azure
                feed = str(write_upcoming(SAMPLE, Path(workdir)))  # its sessions moved to the coming weeks
                console.print(f"\nFirst sync of the bundled feed {SAMPLE_FEED.name} (sessions from "
                              f"{_first_start(feed)} on):")
                first = app.sync.sync(SyncRequest(feed=feed))
                print_summary(first, console)
                console.print("\nSecond sync of the same feed (nothing should be sent):")
                second = app.sync.sync(SyncRequest(feed=feed))
                print_summary(second, console)
                inspector = SandboxClient(info)
                _show_people(console, inspector, _people(read_feed(feed)))
                stats = inspector.stats()
                console.print(
                    f"\nGraph requests served: {stats.get('requests')}, messages delivered: "
                    f"{stats.get('messagesSent')}. Took {time.monotonic() - began:.1f} s."
                )
                if keep:
                    console.print("Running until Ctrl+C (with the send worker). Point LEARNCAL_* at the sandbox "
                                  "above to experiment.")
                    try:
                        while True:
                            time.sleep(3600)
                    except KeyboardInterrupt:
                        pass
                host.stop()
    console.print(
        "\n[bold]Next: the admin console.[/bold] Run [bold]learncal serve[/bold] (or [bold]make serve[/bold]) and open "
        "http://127.0.0.1:7071/api/console/ in your browser; sign in as the local administrator and follow "
        "docs/console.md (set up the provider, validate, run, reconcile)."
    )
    ok = first.status == "completed" and second.status == "completed" and second.created == 0
    return 0 if ok and not first.errors else 1


def _queue_host(settings: Settings) -> QueueHost:
    """The function app's queue consumers (the send worker among them) on the local queue host, over Azurite."""
    from shared.local.functions import local_functions

    return QueueHost(settings, local_functions(settings), HostOptions(max_polling_interval=2.0))


def _people(feed: object) -> list[str]:
    seen: dict[str, None] = {}
    for offering in getattr(feed, "offerings", ()):
        for activity in offering.activities:
            for instructor in activity.instructors:
                seen.setdefault(instructor.email, None)
        for enrollment in offering.enrollments:
            seen.setdefault(enrollment.email, None)
    return list(seen)


_LINK = re.compile(r'<b>([^<:]+):</b> <a href="([^"]+)"')


def _show_people(console: Console, inspector: SandboxClient, people: list[str]) -> None:
    table = Table(title="Who received which meetings", show_lines=False)
    table.add_column("Person", no_wrap=True)
    table.add_column("Meeting", overflow="fold")
    table.add_column("Starts (UTC)", no_wrap=True)
    table.add_column("Link in the invitation", overflow="fold")
    table.add_column("Messages received")
    for person in people:
        meetings = sorted(inspector.calendar(person), key=lambda m: str(m.get("startUtc")))
        received = Counter(m["type"] for m in inspector.messages(person))
        messages = ", ".join(f"{n} {kind}" for kind, n in sorted(received.items())) or "nothing"
        if not meetings:
            table.add_row(person, "[dim]no meetings[/dim]", "", "", messages)
        for index, meeting in enumerate(meetings):
            links = [f"{label.split(' (')[0]}: {url}" for label, url in _LINK.findall(meeting["body"]["content"])
                     if not label.startswith("Details")]
            table.add_row(
                person if index == 0 else "", meeting["subject"], str(meeting["startUtc"])[:16].replace("T", " "),
                "\n".join(links) or "[dim]none[/dim]", messages if index == 0 else "",
            )
    console.print()
    console.print(table)
