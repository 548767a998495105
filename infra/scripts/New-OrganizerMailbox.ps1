<#
.SYNOPSIS
Creates the organizer mailboxes ("Learning Coordinator", the organizer pool) as shared mailboxes, when they do not exist.

.DESCRIPTION
Every invitation of Learning Calendar Sync is sent from an organizer mailbox: one, or a pool
of several (each offering is pinned to one of them; Exchange limits each mailbox to about 30
messages a minute, so K mailboxes send K times as fast). A shared mailbox suits it: it needs no licence and no password, people get invitations from a
meaningful name, and mailbox permissions (Add-MailboxPermission) let staff read its
replies if wanted.

Idempotent: for each address, when a recipient with it exists, nothing is created (the script
says whether it is a mailbox the app can use).

Needs the ExchangeOnlineManagement module and the Exchange Administrator role. When no
Exchange Online session is open, the script runs Connect-ExchangeOnline (interactive sign-in).

-DryRun (or -WhatIf) prints the commands that would run and changes nothing.

.PARAMETER PrimarySmtpAddress
Address of the organizer mailbox, e.g. learning.coordinator@contoso.com, or of each pool
mailbox, comma-separated (learning.coordinator@contoso.com,learning.coordinator2@contoso.com).
Use the same list for LEARNCAL_ORGANIZERS (LEARNCAL_ORGANIZER for one mailbox).

.PARAMETER DisplayName
Name people see on invitations. Default: Learning Coordinator; in a pool, the second and
later mailboxes get " 2", " 3", ... after it.

.PARAMETER Alias
Mail nickname (one mailbox only). Default: the part of each address before the @.

.PARAMETER DryRun
Print the command that would run; change nothing. Same as -WhatIf.

.EXAMPLE
./New-OrganizerMailbox.ps1 -PrimarySmtpAddress learning.coordinator@contoso.com

.EXAMPLE
./New-OrganizerMailbox.ps1 -PrimarySmtpAddress learning.coordinator@contoso.com -DisplayName 'Learning Department' -DryRun

.EXAMPLE
./New-OrganizerMailbox.ps1 -PrimarySmtpAddress learning.coordinator@contoso.com,learning.coordinator2@contoso.com,learning.coordinator3@contoso.com

.NOTES
Next: ./Restrict-MailboxAccess.ps1 -Organizers <the same list> (limit the app to these
mailboxes), then `learncal validate` (one organizer-mailbox check per mailbox). When response
collection is on, ./Set-OrganizerInboxRule.ps1 -Organizers <the same list> moves the attendees'
response messages out of each Inbox. Keep a mailbox
that leaves the pool reachable by the app while its invitations are open: their updates and
cancellations still come from it.
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)]
    [string[]] $PrimarySmtpAddress,

    [string] $DisplayName = 'Learning Coordinator',

    [string] $Alias = '',

    [switch] $DryRun
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($DryRun) { $WhatIfPreference = $true }
$preview = [bool]$WhatIfPreference

$addresses = @($PrimarySmtpAddress | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim().ToLowerInvariant() } |
        Where-Object { $_ } | Select-Object -Unique)
if (-not $addresses) { throw '-PrimarySmtpAddress names no mailbox; give one or more addresses, separated by commas.' }
foreach ($address in $addresses) {
    if ($address -notmatch '^[^@\s]+@[^@\s]+$') {
        throw "-PrimarySmtpAddress: '$address' is not an e-mail address, such as learning.coordinator@contoso.com."
    }
}
if ($Alias -and $addresses.Count -gt 1) { throw '-Alias applies to one mailbox only; leave it out for a pool.' }

$connected = $false
if (Get-Command -Name Get-ConnectionInformation -ErrorAction SilentlyContinue) {
    $connected = [bool](Get-ConnectionInformation | Where-Object { $_.State -eq 'Connected' })
}
if (-not $connected) {
    if ($preview) {
        Write-Host 'No Exchange Online session: printing the step without checking whether the mailbox exists.'
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

$number = 0
foreach ($address in $addresses) {
    $number += 1
    $name = if ($number -gt 1 -and $addresses.Count -gt 1) { "$DisplayName $number" } else { $DisplayName }
    $nickname = if ($Alias) { $Alias } else { ($address.Split('@')[0] -replace '[^A-Za-z0-9._-]', '') }

    $existing = $null
    if ($connected) {
        try { $existing = Get-EXORecipient -Identity $address -ErrorAction SilentlyContinue } catch { $existing = $null }
    }
    if ($existing) {
        $kind = [string]$existing.RecipientTypeDetails
        if ($kind -in @('SharedMailbox', 'UserMailbox', 'RoomMailbox', 'EquipmentMailbox')) {
            Write-Host "SKIP: $address already exists ($kind, display name '$($existing.DisplayName)')."
            if ($kind -eq 'UserMailbox') {
                Write-Warning 'This is a personal (user) mailbox. A generic shared mailbox is recommended as organizer.'
            }
        }
        else {
            throw "$address exists but is a $kind, not a mailbox; choose another address."
        }
        continue
    }

    $arguments = [ordered]@{
        Shared             = $true
        Name               = $name
        DisplayName        = $name
        Alias              = $nickname
        PrimarySmtpAddress = $address
    }
    $line = "New-Mailbox -Shared -Name '$name' -DisplayName '$name' -Alias '$nickname' -PrimarySmtpAddress '$address'"
    if ($preview) {
        Write-Host "WOULD RUN: $line"
        continue
    }
    if ($PSCmdlet.ShouldProcess($address, 'New-Mailbox -Shared')) {
        Write-Host "RUN: $line"
        New-Mailbox @arguments | Format-List DisplayName, PrimarySmtpAddress, RecipientTypeDetails | Out-Host
        Write-Host 'Created. A new mailbox can take a few minutes before Microsoft Graph can reach it.'
    }
}
if (-not $preview) {
    Write-Host "Next: ./Restrict-MailboxAccess.ps1 -Organizers $($addresses -join ','), then learncal validate."
}
