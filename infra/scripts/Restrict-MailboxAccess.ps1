<#
.SYNOPSIS
Limits the Learning Calendar Sync app to the organizer mailboxes (the organizer pool) in Exchange Online.

.DESCRIPTION
The whole organizer pool is scoped at once: one management scope (RBAC for Applications) or
one mail-enabled security group (application access policy) holds every organizer mailbox.
Run the script again with the full pool after adding a mailbox; the scope's filter or the
group's members are brought in line (a mailbox that left the pool is not removed from the
group: its sent invitations may still need updates and cancellations).

Two modes, each idempotent (a step whose object already exists is skipped):

RbacForApplications (recommended; Exchange RBAC for Applications)
  1. New-ServicePrincipal: registers the app's service principal in Exchange Online.
  2. New-ManagementScope -RecipientRestrictionFilter: one scope holding the pool's mailboxes
     ("PrimarySmtpAddress -eq 'a' -or PrimarySmtpAddress -eq 'b'"); Set-ManagementScope when
     the pool changed.
     https://learn.microsoft.com/powershell/module/exchange/new-managementscope
  3. New-ManagementRoleAssignment -App -Role "Application Calendars.ReadWrite"
     -CustomResourceScope: Calendars.ReadWrite on that scope only.
     https://learn.microsoft.com/powershell/module/exchange/new-managementroleassignment
  4. Test-ServicePrincipalAuthorization -Resource: shows, for each mailbox, whether it is in scope.
     https://learn.microsoft.com/powershell/module/exchange/test-serviceprincipalauthorization
  See https://learn.microsoft.com/exchange/permissions-exo/application-rbac
  With this mode the app must NOT also hold Calendars.ReadWrite in Microsoft Entra
  (grants add up); infra/graph-app.bicep leaves it out when mailboxRestriction is
  rbacForApplications. Changes take effect after 30 minutes to 2 hours (caching).

ApplicationAccessPolicy (legacy; Microsoft advises RBAC for Applications for new setups)
  1. New-DistributionGroup -Type Security: a mail-enabled security group with every pool
     mailbox as member; Add-DistributionGroupMember for mailboxes added to the pool later.
     https://learn.microsoft.com/powershell/module/exchange/add-distributiongroupmember
  2. New-ApplicationAccessPolicy -AccessRight RestrictAccess -PolicyScopeGroupId <group>:
     the app's Entra Calendars.ReadWrite grant then works for the group's members only.
     https://learn.microsoft.com/powershell/module/exchange/new-applicationaccesspolicy
  3. Test-ApplicationAccessPolicy: shows, for each mailbox, whether it is granted.
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

.PARAMETER Organizers
Primary SMTP addresses of the organizer pool's mailboxes, e.g.
learning.coordinator@contoso.com,learning.coordinator2@contoso.com (the same list as
LEARNCAL_ORGANIZERS or the provider configuration's organizers). -Organizer is accepted for a
single mailbox.

.PARAMETER DisplayName
Display name of the service principal in Exchange (RbacForApplications).

.PARAMETER ScopeName
Name of the management scope (RbacForApplications).

.PARAMETER AssignmentName
Name of the management role assignment (RbacForApplications).

.PARAMETER GroupName
Name of the mail-enabled security group (ApplicationAccessPolicy).

.PARAMETER GroupAlias
Alias (mail nickname) of that group; its address is the alias at the first organizer's domain.

.PARAMETER DryRun
Print the commands that would run; change nothing. Same as -WhatIf.

.EXAMPLE
./Restrict-MailboxAccess.ps1 -Mode RbacForApplications -AppId 00000000-0000-0000-0000-000000000000 -ServicePrincipalObjectId 11111111-1111-1111-1111-111111111111 -Organizers learning.coordinator@contoso.com,learning.coordinator2@contoso.com

.EXAMPLE
./Restrict-MailboxAccess.ps1 -Mode ApplicationAccessPolicy -AppId 00000000-0000-0000-0000-000000000000 -Organizer learning.coordinator@contoso.com -DryRun

.NOTES
Check afterwards with `learncal validate`: one organizer-mailbox check per pool mailbox, and
"app restricted to the organizer mailboxes" (mailbox-scope).
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
    [Alias('Organizer')]
    [string[]] $Organizers,

    [string] $DisplayName = 'Learning Calendar Sync',
    [string] $ScopeName = 'Learning Calendar Sync organizer',  # the name earlier versions gave it; kept
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

# One list, lower-cased and without repeats, in the order given (LEARNCAL_ORGANIZERS does the same).
$Organizers = @($Organizers | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim().ToLowerInvariant() } |
        Where-Object { $_ } | Select-Object -Unique)
foreach ($Organizer in $Organizers) {
    if ($Organizer -notmatch '^[^@\s]+@[^@\s]+$') {
        throw "-Organizers: '$Organizer' is not an e-mail address; give the mailboxes' primary SMTP addresses, separated by commas."
    }
}
if (-not $Organizers) { throw '-Organizers names no mailbox; give one or more primary SMTP addresses.' }
$firstDomain = $Organizers[0].Split('@')[1]

foreach ($Organizer in $Organizers) {
    if (Test-Exists { Get-EXORecipient -Identity $Organizer -ErrorAction SilentlyContinue }) {
        Write-Host "Organizer mailbox $Organizer found."
    }
    elseif ($connected) {
        throw "No mailbox $Organizer. Create it first: ./New-OrganizerMailbox.ps1 -PrimarySmtpAddress $Organizer"
    }
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

    # 2. One management scope that holds exactly the pool's mailboxes.
    $filter = ($Organizers | ForEach-Object { "PrimarySmtpAddress -eq '$_'" }) -join ' -or '
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

    # 4. Check each mailbox (read-only). Exchange caches these grants for 30 minutes to 2 hours.
    foreach ($Organizer in $Organizers) {
        $testLine = "Test-ServicePrincipalAuthorization -Identity '$AppId' -Resource '$Organizer'"
        if ($connected -and -not $preview) {
            Write-Host "CHECK: $testLine"
            Test-ServicePrincipalAuthorization -Identity $AppId -Resource $Organizer | Format-Table -AutoSize | Out-Host
        }
        else {
            Write-Host "WOULD CHECK: $testLine"
        }
    }
    if ($connected -and -not $preview) {
        Write-Host 'InScope should be True for Application Calendars.ReadWrite. Grants can take 30 minutes to 2 hours to apply.'
    }
}
else {
    # 1. One mail-enabled security group that contains every pool mailbox.
    $group = Get-OrNull { Get-DistributionGroup -Identity $GroupAlias -ErrorAction SilentlyContinue }
    if ($group) {
        Write-Skip "mail-enabled security group '$GroupAlias'"
        $members = @(Get-OrNull { Get-DistributionGroupMember -Identity $GroupAlias -ResultSize Unlimited } |
                ForEach-Object { ([string]$_.PrimarySmtpAddress).ToLowerInvariant() })
        foreach ($Organizer in $Organizers) {
            if ($members -contains $Organizer) {
                Write-Skip "member $Organizer of '$GroupAlias'"
            }
            else {
                Invoke-Step -Name 'Add-DistributionGroupMember' -Why "member $Organizer" -Arguments ([ordered]@{
                        Identity = $GroupAlias
                        Member   = $Organizer
                    }) | Out-Null
            }
        }
    }
    else {
        Invoke-Step -Name 'New-DistributionGroup' -Why "group $GroupAlias" -Arguments ([ordered]@{
                Name               = $GroupName
                Alias              = $GroupAlias
                PrimarySmtpAddress = "$GroupAlias@$firstDomain"
                Type               = 'Security'
                Members            = @($Organizers)
            }) | Out-Null
    }

    # 2. The access policy: the app reaches only the group's mailboxes (nested groups included).
    $groupAddress = if ($group) { [string]$group.PrimarySmtpAddress } else { "$GroupAlias@$firstDomain" }
    $policy = Get-OrNull { Get-ApplicationAccessPolicy -ErrorAction SilentlyContinue | Where-Object { $_.AppId -eq $AppId } }
    if ($policy) {
        Write-Skip "application access policy for $AppId ($(@($policy)[0].AccessRight) $(@($policy)[0].ScopeName))"
    }
    else {
        Invoke-Step -Name 'New-ApplicationAccessPolicy' -Why "policy for $AppId" -Arguments ([ordered]@{
                AppId              = $AppId
                PolicyScopeGroupId = $groupAddress
                AccessRight        = 'RestrictAccess'
                Description        = 'Learning Calendar Sync: only the organizer mailboxes'
            }) | Out-Null
    }

    # 3. Check each mailbox (read-only). Changes can take an hour or more to apply.
    foreach ($Organizer in $Organizers) {
        $testLine = "Test-ApplicationAccessPolicy -Identity '$Organizer' -AppId '$AppId'"
        if ($connected -and -not $preview) {
            Write-Host "CHECK: $testLine"
            Test-ApplicationAccessPolicy -Identity $Organizer -AppId $AppId | Format-List | Out-Host
        }
        else {
            Write-Host "WOULD CHECK: $testLine"
        }
    }
    if ($connected -and -not $preview) {
        Write-Host 'AccessCheckResult should be Granted for each mailbox. Policies can take an hour or more to apply.'
    }
}

Write-Host 'Done. Confirm with: learncal validate  (one organizer-mailbox check per pool mailbox, and mailbox-scope)'
