"""The Exchange scripts scope a whole organizer pool (checked as text: no Exchange Online here).

Restrict-MailboxAccess.ps1 builds one management scope over every pool mailbox, or one
mail-enabled security group holding them all, and checks each mailbox; New-OrganizerMailbox.ps1
creates each mailbox of a list.
"""

from __future__ import annotations

import re
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "infra" / "scripts"


def test_restrict_takes_the_pool_and_still_accepts_one_organizer() -> None:
    text = (SCRIPTS / "Restrict-MailboxAccess.ps1").read_text()
    assert re.search(r"\[Alias\('Organizer'\)\]\s*\[string\[\]\] \$Organizers", text)
    assert "$_ -split ','" in text and "Select-Object -Unique" in text  # "a,b" from a shell is a list too


def test_rbac_mode_builds_one_scope_over_every_mailbox_and_checks_each() -> None:
    text = (SCRIPTS / "Restrict-MailboxAccess.ps1").read_text()
    assert """ForEach-Object { "PrimarySmtpAddress -eq '$_'" }) -join ' -or '""" in text
    assert "Set-ManagementScope" in text  # a changed pool updates the one scope's filter
    check = text.index("Test-ServicePrincipalAuthorization -Identity $AppId -Resource $Organizer")
    assert text.rfind("foreach ($Organizer in $Organizers)", 0, check) > text.index("New-ManagementRoleAssignment")


def test_policy_mode_puts_every_mailbox_in_one_group() -> None:
    text = (SCRIPTS / "Restrict-MailboxAccess.ps1").read_text()
    assert "Members            = @($Organizers)" in text
    add = text.index("Invoke-Step -Name 'Add-DistributionGroupMember'")
    assert text.rfind("foreach ($Organizer in $Organizers)", 0, add) != -1
    assert "PolicyScopeGroupId = $groupAddress" in text
    assert "Test-ApplicationAccessPolicy -Identity $Organizer -AppId $AppId" in text
    for page in ("new-applicationaccesspolicy", "add-distributiongroupmember", "new-managementscope",
                 "new-managementroleassignment"):
        assert f"https://learn.microsoft.com/powershell/module/exchange/{page}" in text


def test_new_organizer_mailbox_creates_each_mailbox_of_a_list() -> None:
    text = (SCRIPTS / "New-OrganizerMailbox.ps1").read_text()
    assert "[string[]] $PrimarySmtpAddress" in text
    assert "foreach ($address in $addresses)" in text
    assert '"$DisplayName $number"' in text  # "Learning Coordinator 2", ...
    assert "-Alias applies to one mailbox only" in text
