<#
.SYNOPSIS
Keeps each organizer mailbox's Inbox clean: an Inbox rule moves attendees' meeting responses out of the Inbox once Exchange has recorded them.

.DESCRIPTION
When Learning Calendar Sync asks attendees for a response, every answer (accepted, tentative,
declined) also arrives in the organizer mailbox's Inbox as a response message. The product
reads the answers from the organizer's calendar, where Exchange records them, and needs no
mail permission; the messages themselves only pile up. This script adds one Inbox rule to each
organizer mailbox (the pool) that moves meeting responses to Deleted Items (default) or to a
folder of your choice.

Exchange records a response on the organizer's meeting when it processes the response message
on delivery: the Calendar Attendant "updates the attendee's response on the organizer's
calendar after receiving a response from the attendee"
(https://learn.microsoft.com/previous-versions/office/exchange-server-2010/bb123874(v=exchg.141)),
and removes redundant, text-less older responses by itself
(https://learn.microsoft.com/previous-versions/office/exchange-server-2010/bb125219(v=exchg.141)).
The rule only moves the message afterwards; the response stays recorded on the meeting. The
script does not change calendar processing (Set-CalendarProcessing): the default automatic
processing of user and shared mailboxes is what records the responses; it only reports the
mailbox's AutomateProcessing value when it can read it.

The rule (New-InboxRule, https://learn.microsoft.com/powershell/module/exchange/new-inboxrule):
  New-InboxRule -Mailbox <organizer> -Name 'Learning Calendar Sync: meeting responses'
    -MessageTypeMatches CalendaringResponse -DeleteMessage $true -StopProcessingRules $true
-MessageTypeMatches CalendaringResponse selects meeting responses (accept, tentative, decline)
and not meeting requests or cancellations (Calendaring); -DeleteMessage moves the message to
Deleted Items, where the mailbox's retention removes it; -MoveToFolder '<mailbox>:\<folder>'
moves it to an existing folder instead (-Folder). Both are recoverable, unlike
-PermanentDelete, which the script never uses.

Idempotent: a mailbox that already has a rule with this name is skipped
(Get-InboxRule, https://learn.microsoft.com/powershell/module/exchange/get-inboxrule).

Needs the ExchangeOnlineManagement module and the Exchange Administrator role. When no
Exchange Online session is open, the script runs Connect-ExchangeOnline (interactive sign-in).

-DryRun (or -WhatIf) prints the commands that would run and changes nothing.

.PARAMETER Organizers
The organizer mailbox, or each pool mailbox, comma-separated
(learning.coordinator@contoso.com,learning.coordinator2@contoso.com): the same list as
LEARNCAL_ORGANIZERS (LEARNCAL_ORGANIZER for one mailbox).

.PARAMETER Folder
Move the responses to this folder of each mailbox (it must exist, e.g. 'Meeting responses',
created in Outlook) instead of Deleted Items.

.PARAMETER RuleName
Name of the Inbox rule. Default: 'Learning Calendar Sync: meeting responses'.

.PARAMETER DryRun
Print the commands that would run; change nothing. Same as -WhatIf.

.EXAMPLE
./Set-OrganizerInboxRule.ps1 -Organizers learning.coordinator@contoso.com -DryRun

.EXAMPLE
./Set-OrganizerInboxRule.ps1 -Organizers learning.coordinator@contoso.com,learning.coordinator2@contoso.com

.EXAMPLE
./Set-OrganizerInboxRule.ps1 -Organizers learning.coordinator@contoso.com -Folder 'Meeting responses'

.NOTES
Run it again for a mailbox added to the pool. To remove the rule:
Remove-InboxRule -Mailbox <organizer> -Identity 'Learning Calendar Sync: meeting responses'.
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)]
    [Alias('Organizer')]
    [string[]] $Organizers,

    [string] $Folder = '',

    [string] $RuleName = 'Learning Calendar Sync: meeting responses',

    [switch] $DryRun
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($DryRun) { $WhatIfPreference = $true }
$preview = [bool]$WhatIfPreference

$mailboxes = @($Organizers | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim().ToLowerInvariant() } |
        Where-Object { $_ } | Select-Object -Unique)
if (-not $mailboxes) { throw '-Organizers names no mailbox; give one or more addresses, separated by commas.' }
foreach ($mailbox in $mailboxes) {
    if ($mailbox -notmatch '^[^@\s]+@[^@\s]+$') {
        throw "-Organizers: '$mailbox' is not an e-mail address, such as learning.coordinator@contoso.com."
    }
}
if (-not $RuleName.Trim()) { throw '-RuleName is empty; leave it out for the default name.' }

$connected = $false
if (Get-Command -Name Get-ConnectionInformation -ErrorAction SilentlyContinue) {
    $connected = [bool](Get-ConnectionInformation | Where-Object { $_.State -eq 'Connected' })
}
if (-not $connected) {
    if ($preview) {
        Write-Host 'No Exchange Online session: printing the steps without checking for existing rules.'
        Write-Host 'WOULD RUN: Connect-ExchangeOnline'
    }
    else {
        if (-not (Get-Module -ListAvailable -Name ExchangeOnlineManagement)) {
            throw 'The ExchangeOnlineManagement module is missing: Install-Module ExchangeOnlineManagement -Scope CurrentUser'
        }
        Import-Module ExchangeOnlineManagement
        Connect-ExchangeOnline -ShowBanner:$false
        $connected = $true
    }
}

foreach ($mailbox in $mailboxes) {
    if ($connected) {
        $existing = @(Get-InboxRule -Mailbox $mailbox | Where-Object { $_.Name -eq $RuleName })
        if ($existing) {
            Write-Host "SKIP: $mailbox already has the Inbox rule '$RuleName'."
            continue
        }
        try {
            $processing = Get-CalendarProcessing -Identity $mailbox
            if ([string]$processing.AutomateProcessing -eq 'None') {
                Write-Warning ("$mailbox has automatic calendar processing switched off (AutomateProcessing None): " +
                    'Exchange then records no response on its meetings, and Learning Calendar Sync reads none.')
            }
        }
        catch {
            Write-Verbose "Could not read the calendar processing of $mailbox; the rule does not depend on it."
        }
    }

    $arguments = [ordered]@{
        Mailbox             = $mailbox
        Name                = $RuleName
        MessageTypeMatches  = 'CalendaringResponse'
        StopProcessingRules = $true
    }
    if ($Folder) {
        $arguments['MoveToFolder'] = "${mailbox}:\$Folder"
        $action = "-MoveToFolder '${mailbox}:\$Folder'"
    }
    else {
        $arguments['DeleteMessage'] = $true
        $action = '-DeleteMessage $true'
    }
    $line = "New-InboxRule -Mailbox '$mailbox' -Name '$RuleName' -MessageTypeMatches CalendaringResponse $action -StopProcessingRules `$true"
    if ($preview) {
        Write-Host "WOULD RUN: $line"
        continue
    }
    if ($PSCmdlet.ShouldProcess($mailbox, "New-InboxRule '$RuleName'")) {
        Write-Host "RUN: $line"
        New-InboxRule @arguments | Format-List Name, MessageTypeMatches, DeleteMessage, MoveToFolder, Enabled | Out-Host
    }
}
