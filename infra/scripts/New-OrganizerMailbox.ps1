<#
.SYNOPSIS
Creates the organizer mailbox ("Learning Coordinator") as a shared mailbox, when it does not exist.

.DESCRIPTION
Every invitation of Learning Calendar Sync is sent from one organizer mailbox. A shared
mailbox suits it: it needs no licence and no password, people get invitations from a
meaningful name, and mailbox permissions (Add-MailboxPermission) let staff read its
replies if wanted.

Idempotent: when a recipient with the address exists, nothing is created (the script says
whether it is a mailbox the app can use).

Needs the ExchangeOnlineManagement module and the Exchange Administrator role. When no
Exchange Online session is open, the script runs Connect-ExchangeOnline (interactive sign-in).

-DryRun (or -WhatIf) prints the command that would run and changes nothing.

.PARAMETER PrimarySmtpAddress
Address of the organizer mailbox, e.g. learning.coordinator@contoso.com. Use the same value
for LEARNCAL_ORGANIZER.

.PARAMETER DisplayName
Name people see on invitations. Default: Learning Coordinator.

.PARAMETER Alias
Mail nickname. Default: the part of the address before the @.

.PARAMETER DryRun
Print the command that would run; change nothing. Same as -WhatIf.

.EXAMPLE
./New-OrganizerMailbox.ps1 -PrimarySmtpAddress learning.coordinator@contoso.com

.EXAMPLE
./New-OrganizerMailbox.ps1 -PrimarySmtpAddress learning.coordinator@contoso.com -DisplayName 'Learning Department' -DryRun

.NOTES
Next: ./Restrict-MailboxAccess.ps1 (limit the app to this mailbox), then `learncal validate`
(check "organizer exists and has a mailbox"). Changing the organizer later is discouraged:
events created by the previous organizer can then no longer be updated.
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[^@\s]+@[^@\s]+$')]
    [string] $PrimarySmtpAddress,

    [string] $DisplayName = 'Learning Coordinator',

    [string] $Alias = '',

    [switch] $DryRun
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($DryRun) { $WhatIfPreference = $true }
$preview = [bool]$WhatIfPreference

if (-not $Alias) { $Alias = ($PrimarySmtpAddress.Split('@')[0] -replace '[^A-Za-z0-9._-]', '') }

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

$existing = $null
if ($connected) {
    try { $existing = Get-EXORecipient -Identity $PrimarySmtpAddress -ErrorAction SilentlyContinue } catch { $existing = $null }
}
if ($existing) {
    $kind = [string]$existing.RecipientTypeDetails
    if ($kind -in @('SharedMailbox', 'UserMailbox', 'RoomMailbox', 'EquipmentMailbox')) {
        Write-Host "SKIP: $PrimarySmtpAddress already exists ($kind, display name '$($existing.DisplayName)')."
        if ($kind -eq 'UserMailbox') {
            Write-Warning 'This is a personal (user) mailbox. A generic shared mailbox is recommended as organizer.'
        }
    }
    else {
        throw "$PrimarySmtpAddress exists but is a $kind, not a mailbox; choose another address."
    }
    return
}

$arguments = [ordered]@{
    Shared             = $true
    Name               = $DisplayName
    DisplayName        = $DisplayName
    Alias              = $Alias
    PrimarySmtpAddress = $PrimarySmtpAddress
}
$line = "New-Mailbox -Shared -Name '$DisplayName' -DisplayName '$DisplayName' -Alias '$Alias' -PrimarySmtpAddress '$PrimarySmtpAddress'"
if ($preview) {
    Write-Host "WOULD RUN: $line"
    return
}
if ($PSCmdlet.ShouldProcess($PrimarySmtpAddress, 'New-Mailbox -Shared')) {
    Write-Host "RUN: $line"
    New-Mailbox @arguments | Format-List DisplayName, PrimarySmtpAddress, RecipientTypeDetails | Out-Host
    Write-Host 'Created. A new mailbox can take a few minutes before Microsoft Graph can reach it.'
    Write-Host 'Next: ./Restrict-MailboxAccess.ps1, then learncal validate.'
}
