"""The probe's answers as a table a person reads, beside the sandbox setting each one implies."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shared.probe.profile import TenantProfile, realism_from

LABELS = {
    "outOfScope": "Mailbox outside the app's scope",
    "encodedBatchQueryOptions": "%24filter inside a batch",
    "extendedPropertyFilterCase": "Tag filter, other case",
    "repeatCancel": "Second cancel of a meeting",
    "transactionIdAfterCancel": "transactionId repeated after cancel",
    "subjectOverLimit": "300-character subject",
    "batchConcurrency": "Two batches at once (2 x 8 reads)",
}


def print_profile(profile: TenantProfile, console: Console | None = None) -> None:
    console = console or Console()
    realism = profile.realism
    table = Table(title=f"Tenant probe: {profile.mailbox} (attendee {profile.attendee})", show_lines=False)
    table.add_column("Measured")
    table.add_column("Answer", overflow="fold")
    table.add_column("Sandbox setting", overflow="fold")
    for name, observation in profile.observations.items():
        keys = realism_from({name: observation.to_json()})
        setting = ", ".join(f"{key}={value}" for key, value in keys.items() if realism.get(key) == value)
        table.add_row(LABELS.get(name, name), observation.summary, setting or "-")
    console.print(table)
    cleanup = profile.cleanup
    if profile.clean:
        console.print(f"Clean-up: {cleanup.get('removed', 0)} probe events removed; none left behind.")
    else:
        console.print(f"[bold red]Clean-up left {len(cleanup['leftBehind'])} probe events in {profile.mailbox}[/]: "
                      f"{', '.join(cleanup['leftBehind'])}. Delete them by hand (subject "
                      "'Learning Calendar Sync tenant probe').")
