"""The organizer Inbox rule script (checked as text: no Exchange Online here): meeting responses only,
moved (never permanently deleted), idempotent per mailbox of the pool, each cmdlet cited from Microsoft's docs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "scripts" / "Set-OrganizerInboxRule.ps1"


def code_of(text: str) -> str:
    """The script without its comment-based help, so the checks read what runs."""
    return re.sub(r"<#.*?#>", "", text, count=1, flags=re.S)


def test_the_rule_selects_meeting_responses_and_moves_them_recoverably() -> None:
    code = code_of(SCRIPT.read_text())
    assert "New-InboxRule @arguments" in code
    assert "MessageTypeMatches  = 'CalendaringResponse'" in code  # responses, not requests (Calendaring)
    assert "$arguments['DeleteMessage'] = $true" in code  # to Deleted Items
    assert '$arguments[\'MoveToFolder\'] = "${mailbox}:\\$Folder"' in code  # the documented <mailbox>:\<folder>
    assert "PermanentDelete" not in code and "Set-CalendarProcessing" not in code


def test_each_pool_mailbox_gets_the_rule_once() -> None:
    code = code_of(SCRIPT.read_text())
    loop = code.index("foreach ($mailbox in $mailboxes)", code.index("Connect-ExchangeOnline"))
    check = code.index("Get-InboxRule -Mailbox $mailbox | Where-Object { $_.Name -eq $RuleName }")
    skip = code.index("continue", check)
    assert loop < check < skip < code.index("New-InboxRule @arguments")
    assert "$_ -split ','" in code and "Select-Object -Unique" in code  # "a,b" from a shell is a list too


def test_the_help_cites_the_cmdlets_and_why_the_response_stays_recorded() -> None:
    text = SCRIPT.read_text()
    for page in ("https://learn.microsoft.com/powershell/module/exchange/new-inboxrule",
                 "https://learn.microsoft.com/powershell/module/exchange/get-inboxrule",
                 "https://learn.microsoft.com/previous-versions/office/exchange-server-2010/bb123874(v=exchg.141)"):
        assert page in text
    setup = (ROOT / "docs" / "setup.md").read_text()
    assert "Set-OrganizerInboxRule.ps1" in setup and "-MessageTypeMatches CalendaringResponse" in setup
    assert "https://learn.microsoft.com/powershell/module/exchange/new-inboxrule" in setup
