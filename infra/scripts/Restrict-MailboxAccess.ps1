<#
.SYNOPSIS
Limits the Learning Calendar Sync app to the organizer mailbox in Exchange Online.

.DESCRIPTION
Two modes, each idempotent (a step whose object already exists is skipped):

RbacForApplications (recommended; Exchange RBAC for Applications)
  1. New-ServicePrincipal: registers the app's service principal in Exchange Online.
  2. New-ManagementScope -RecipientRestrictionFilter: a scope holding only the organizer.
  3. New-ManagementRoleAssignment -App -Role "Application Calendars.ReadWrite"
     -CustomResourceScope: Calendars.ReadWrite on that scope only.
  4. Test-ServicePrincipalAuthorization: shows whether the organizer is in scope.
  With this mode the app must NOT also hold Calendars.ReadWrite in Microsoft Entra
  (grants add up); infra/graph-app.bicep leaves it out when mailboxRestriction is
  rbacForApplications. Changes take effect after 30 minutes to 2 hours (caching).

ApplicationAccessPolicy (legacy; Microsoft advises RBAC for Applications for new setups)
  1. New-DistributionGroup -Type Security: a mail-enabled security group, plus the
     organizer as its member.
  2. New-ApplicationAccessPolicy -AccessRight RestrictAccess: the app's Entra
     Calendars.ReadWrite grant then works for the group's members only.
  3. Test-ApplicationAccessPolicy: shows whether the organizer is granted.
  Changes can take an hour or more to apply.

Needs the ExchangeOnlineManagement module (Install-Module ExchangeOnlineManagement) and the
Exchange Administrator role. When no Exchange Online session is open, the script runs
Connect-ExchangeOnline (interactive sign-in).

-DryRun (or -WhatIf) prints every command that would change something and changes nothing.
Without an Exchange Online session, a dry run prints every step without checking what
already exists.

.PARAMETER Mode
RbacForApplications or ApplicationAccessPolicy.

.PARAMETER AppId
Application (client) ID of the app registration (azd output LEARNCAL_CLIENT_ID).

.PARAMETER ServicePrincipalObjectId
Object ID of the app's service principal (enterprise application). RbacForApplications
only. azd output AZURE_APP_SERVICE_PRINCIPAL_ID, or: az ad sp show --id <AppId> --query id -o tsv

.PARAMETER Organizer
Primary SMTP address of the organizer mailbox, e.g. learning.coordinator@contoso.com.

.PARAMETER DisplayName
Display name of the service principal in Exchange (RbacForApplications).

.PARAMETER ScopeName
Name of the management scope (RbacForApplications).

.PARAMETER AssignmentName
Name of the management role assignment (RbacForApplications).

.PARAMETER GroupName
Name of the mail-enabled security group (ApplicationAccessPolicy).

.PARAMETER GroupAlias
Alias (mail nickname) of that group; its address is the alias at the organizer's domain.

.PARAMETER DryRun
Print the commands that would run; change nothing. Same as -WhatIf.

.EXAMPLE
./Restrict-MailboxAccess.ps1 -Mode RbacForApplications -AppId 00000000-0000-0000-0000-000000000000 -ServicePrincipalObjectId 11111111-1111-1111-1111-111111111111 -Organizer learning.coordinator@contoso.com

.EXAMPLE
./Restrict-MailboxAccess.ps1 -Mode ApplicationAccessPolicy -AppId 00000000-0000-0000-0000-000000000000 -Organizer learning.coordinator@contoso.com -DryRun

.NOTES
Check afterwards with `learncal validate` (check "app restricted to the organizer mailbox").
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet('RbacForApplications', 'ApplicationAccessPolicy')]
    [string] $Mode,

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F-]{36}$')]
    [string] $AppId,

    [ValidatePattern('^([0-9a-fA-F-]{36})?$')]
    [string] $ServicePrincipalObjectId = '',

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[^@\s]+@[^@\s]+$')]
    [string] $Organizer,

    [string] $DisplayName = 'Learning Calendar Sync',
    [string] $ScopeName = 'Learning Calendar Sync organizer',
    [string] $AssignmentName = 'Learning Calendar Sync calendars',
    [string] $GroupName = 'Learning Calendar Sync organizers',
    [string] $GroupAlias = 'learncal-organizers',

    [switch] $DryRun
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($DryRun) { $WhatIfPreference = $true }
$preview = [bool]$WhatIfPreference

function Format-Command {
    param([string] $Name, [System.Collections.IDictionary] $Arguments)
    $parts = @($Name)
    foreach ($key in $Arguments.Keys) {
        $quoted = @($Arguments[$key]) | ForEach-Object { "'" + ([string]$_).Replace("'", "''") + "'" }
        $parts += "-$key " + ($quoted -join ',')
    }
    return ($parts -join ' ')
}

# Runs a changing command, or only prints it under -DryRun / -WhatIf.
function Invoke-Step {
    param([string] $Name, [System.Collections.IDictionary] $Arguments, [string] $Why)
    $line = Format-Command -Name $Name -Arguments $Arguments
    if ($preview) {
        Write-Host "WOULD RUN: $line"
        return $null
    }
    if ($PSCmdlet.ShouldProcess($Why, $Name)) {
        Write-Host "RUN: $line"
        return & $Name @Arguments
    }
    return $null
}

function Write-Skip([string] $Text) { Write-Host "SKIP: $Text (already there)" }

# An Exchange Online session is needed for every check; a dry run can do without one.
$connected = $false
if (Get-Command -Name Get-ConnectionInformation -ErrorAction SilentlyContinue) {
    $connected = [bool](Get-ConnectionInformation | Where-Object { $_.State -eq 'Connected' })
}
if (-not $connected) {
    if ($preview) {
        Write-Host 'No Exchange Online session: printing every step without checking what exists.'
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

# Runs a read-only lookup; "not found" (or no session) gives $null.
function Get-OrNull([scriptblock] $Lookup) {
    if (-not $connected) { return $null }
    try { return (& $Lookup) } catch { return $null }
}

function Test-Exists([scriptblock] $Lookup) { return [bool](Get-OrNull $Lookup) }

if (Test-Exists { Get-EXORecipient -Identity $Organizer -ErrorAction SilentlyContinue }) {
    Write-Host "Organizer mailbox $Organizer found."
}
elseif ($connected) {
    throw "No mailbox $Organizer. Create it first: ./New-OrganizerMailbox.ps1 -PrimarySmtpAddress $Organizer"
}

if ($Mode -eq 'RbacForApplications') {
    if (-not $ServicePrincipalObjectId) {
        throw '-ServicePrincipalObjectId is required for RbacForApplications (az ad sp show --id <AppId> --query id -o tsv).'
    }

    # 1. The app's service principal, as Exchange knows it.
    if (Test-Exists { Get-ServicePrincipal -Identity $AppId -ErrorAction SilentlyContinue }) {
        Write-Skip "service principal $AppId"
    }
    else {
        Invoke-Step -Name 'New-ServicePrincipal' -Why "service principal $AppId" -Arguments ([ordered]@{
                AppId       = $AppId
                ObjectId    = $ServicePrincipalObjectId
                DisplayName = $DisplayName
            }) | Out-Null
    }

    # 2. A management scope that holds only the organizer mailbox.
    $filter = "PrimarySmtpAddress -eq '$Organizer'"
    $existingScope = Get-OrNull { Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue }
    if ($existingScope) {
        if ($existingScope.RecipientFilter -ne $filter) {
            Write-Warning "Scope '$ScopeName' has filter [$($existingScope.RecipientFilter)], expected [$filter]; updating it."
            Invoke-Step -Name 'Set-ManagementScope' -Why "scope $ScopeName" -Arguments ([ordered]@{
                    Identity                    = $ScopeName
                    RecipientRestrictionFilter = $filter
                }) | Out-Null
        }
        else {
            Write-Skip "management scope '$ScopeName'"
        }
    }
    else {
        Invoke-Step -Name 'New-ManagementScope' -Why "scope $ScopeName" -Arguments ([ordered]@{
                Name                        = $ScopeName
                RecipientRestrictionFilter = $filter
            }) | Out-Null
    }

    # 3. Calendars.ReadWrite for the app, limited to that scope.
    if (Test-Exists { Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue }) {
        Write-Skip "management role assignment '$AssignmentName'"
    }
    else {
        Invoke-Step -Name 'New-ManagementRoleAssignment' -Why "role assignment $AssignmentName" -Arguments ([ordered]@{
                Name                = $AssignmentName
                App                 = $AppId
                Role                = 'Application Calendars.ReadWrite'
                CustomResourceScope = $ScopeName
            }) | Out-Null
    }

    # 4. Check (read-only). Exchange caches these grants for 30 minutes to 2 hours.
    $testLine = "Test-ServicePrincipalAuthorization -Identity '$AppId' -Resource '$Organizer'"
    if ($connected -and -not $preview) {
        Write-Host "CHECK: $testLine"
        Test-ServicePrincipalAuthorization -Identity $AppId -Resource $Organizer | Format-Table -AutoSize | Out-Host
        Write-Host 'InScope should be True for Application Calendars.ReadWrite. Grants can take 30 minutes to 2 hours to apply.'
    }
    else {
        Write-Host "WOULD CHECK: $testLine"
    }
}
else {
    # 1. A mail-enabled security group that contains the organizer.
    $group = Get-OrNull { Get-DistributionGroup -Identity $GroupAlias -ErrorAction SilentlyContinue }
    if ($group) {
        Write-Skip "mail-enabled security group '$GroupAlias'"
        $isMember = Test-Exists { Get-DistributionGroupMember -Identity $GroupAlias -ResultSize Unlimited |
                Where-Object { $_.PrimarySmtpAddress -eq $Organizer } }
        if ($isMember) {
            Write-Skip "member $Organizer of '$GroupAlias'"
        }
        else {
            Invoke-Step -Name 'Add-DistributionGroupMember' -Why "member $Organizer" -Arguments ([ordered]@{
                    Identity = $GroupAlias
                    Member   = $Organizer
                }) | Out-Null
        }
    }
    else {
        $domain = $Organizer.Split('@')[1]
        Invoke-Step -Name 'New-DistributionGroup' -Why "group $GroupAlias" -Arguments ([ordered]@{
                Name               = $GroupName
                Alias              = $GroupAlias
                PrimarySmtpAddress = "$GroupAlias@$domain"
                Type               = 'Security'
                Members            = @($Organizer)
            }) | Out-Null
    }

    # 2. The access policy: the app reaches only the group's mailboxes.
    $groupAddress = if ($group) { [string]$group.PrimarySmtpAddress } else { "$GroupAlias@$($Organizer.Split('@')[1])" }
    $policy = Get-OrNull { Get-ApplicationAccessPolicy -ErrorAction SilentlyContinue | Where-Object { $_.AppId -eq $AppId } }
    if ($policy) {
        Write-Skip "application access policy for $AppId ($(@($policy)[0].AccessRight) $(@($policy)[0].ScopeName))"
    }
    else {
        Invoke-Step -Name 'New-ApplicationAccessPolicy' -Why "policy for $AppId" -Arguments ([ordered]@{
                AppId              = $AppId
                PolicyScopeGroupId = $groupAddress
                AccessRight        = 'RestrictAccess'
                Description        = 'Learning Calendar Sync: only the organizer mailbox'
            }) | Out-Null
    }

    # 3. Check (read-only). Changes can take an hour or more to apply.
    $testLine = "Test-ApplicationAccessPolicy -Identity '$Organizer' -AppId '$AppId'"
    if ($connected -and -not $preview) {
        Write-Host "CHECK: $testLine"
        Test-ApplicationAccessPolicy -Identity $Organizer -AppId $AppId | Format-List | Out-Host
        Write-Host 'AccessCheckResult should be Granted. Policies can take an hour or more to apply.'
    }
    else {
        Write-Host "WOULD CHECK: $testLine"
    }
}

Write-Host 'Done. Confirm with: learncal validate  (check: app restricted to the organizer mailbox)'
