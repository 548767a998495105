<#
.SYNOPSIS
azd postprovision hook (Windows): prints the steps that remain after `azd provision`.

.DESCRIPTION
Reads azd's environment variables (the outputs of infra/main.bicep) and prints the manual
steps with this environment's values. It changes nothing; -DryRun is accepted for symmetry
with the other scripts. postprovision.sh is the same for macOS and Linux.

.PARAMETER DryRun
Accepted and ignored: the script only prints.

.EXAMPLE
azd hooks run postprovision
#>
[CmdletBinding()]
param(
    [switch] $DryRun
)

Set-StrictMode -Version Latest

function Get-Value([string] $Name, [string] $Placeholder) {
    $v = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($v)) { return $Placeholder }
    return $v
}

$clientId = Get-Value 'LEARNCAL_CLIENT_ID' '<app-client-id>'
$spId = Get-Value 'AZURE_APP_SERVICE_PRINCIPAL_ID' '<service-principal-object-id>'
# The organizer pool (LEARNCAL_ORGANIZERS, comma-separated) when set, else the one organizer.
$organizer = Get-Value 'LEARNCAL_ORGANIZERS' (Get-Value 'LEARNCAL_ORGANIZER' '<organizer@contoso.com>')
$vault = Get-Value 'AZURE_KEY_VAULT_NAME' '<key-vault-name>'
$appUrl = Get-Value 'AZURE_FUNCTION_APP_URL' '<function-app-url>'
$group = Get-Value 'AZURE_RESOURCE_GROUP' '<resource-group>'
$restriction = Get-Value 'MAILBOX_RESTRICTION' 'rbacForApplications'
$authMode = Get-Value 'LEARNCAL_AUTH_MODE' 'secret'
$feed = Get-Value 'LEARNCAL_FEED' 'blob:feeds'
$feedAccount = Get-Value 'AZURE_FEED_STORAGE_ACCOUNT_NAME' '<feed-storage-account>'
$feedContainer = Get-Value 'AZURE_FEED_CONTAINER_NAME' 'feeds'
$feedSftp = Get-Value 'AZURE_FEED_SFTP_ENABLED' 'false'
$sftpUser = Get-Value 'AZURE_FEED_SFTP_USER' 'feeddrop'

Write-Host ''
Write-Host "Learning Calendar Sync is provisioned (app $clientId). Remaining steps (docs/setup.md):"
$step = 1
if (-not ([Environment]::GetEnvironmentVariable('LEARNCAL_ORGANIZER') -or [Environment]::GetEnvironmentVariable('LEARNCAL_ORGANIZERS'))) {
    Write-Host "$step. Choose the organizer mailbox and provision again:"
    Write-Host '     azd env set LEARNCAL_ORGANIZER learning.coordinator@contoso.com; azd provision'
    $step++
}
Write-Host "$step. Create the organizer mailbox if needed (Exchange Administrator):"
Write-Host "     ./infra/scripts/New-OrganizerMailbox.ps1 -PrimarySmtpAddress $organizer"
$step++
switch ($restriction) {
    'rbacForApplications' {
        Write-Host "$step. Limit Calendars.ReadWrite to the organizer (RBAC for Applications; 30 min to 2 h to apply):"
        Write-Host "     ./infra/scripts/Restrict-MailboxAccess.ps1 -Mode RbacForApplications -AppId $clientId -ServicePrincipalObjectId $spId -Organizer $organizer"
    }
    'applicationAccessPolicy' {
        Write-Host "$step. Restrict the app with an application access policy (legacy; up to an hour or more to apply):"
        Write-Host "     ./infra/scripts/Restrict-MailboxAccess.ps1 -Mode ApplicationAccessPolicy -AppId $clientId -Organizer $organizer"
    }
    default {
        Write-Host "$step. The app can write every calendar in the tenant (MAILBOX_RESTRICTION=none); restrict it before production use."
    }
}
$step++
if ($authMode -eq 'secret') {
    Write-Host "$step. Create the client secret into Key Vault $vault (from a bash shell with the Azure CLI):"
    Write-Host "     ./infra/scripts/create-client-secret.sh --app-id $clientId --vault-name $vault"
    $step++
}
Write-Host "$step. Check the setup with your Azure sign-in, from this machine: learncal validate"
Write-Host "     The admin HTTP API ($appUrl/api/...) takes the master key; the default function key is refused."
Write-Host '     This hook prints no key: docs/setup.md, step 7, shows how to call the API.'
$step++
if ($feedSftp -eq 'true') {
    Write-Host "$step. SFTP delivery is on: host $feedAccount.blob.core.windows.net, port 22, user $feedAccount.$sftpUser, folder /feeds."
    Write-Host '     Without FEED_SFTP_PUBLIC_KEY, make the password (shown once; paste it into the scheduler only):'
    Write-Host "     az storage account local-user regenerate-password -g $group --account-name $feedAccount -n $sftpUser"
    $step++
}
Write-Host "$step. Drop your first feed once the code is deployed (LEARNCAL_FEED=$feed), with your Azure sign-in:"
Write-Host '     learncal feed push FILE'
Write-Host "  or az storage blob upload --auth-mode login --account-name $feedAccount --container-name $feedContainer --name feed-<UTC time>.csv --file FILE"
Write-Host "     A run starts within a minute; 'learncal runs' lists it. Until then health and Validate warn 'no feed yet'."
Write-Host 'The sync also runs on the LEARNCAL_SYNC_SCHEDULE timer (hourly by default), as a safety net.'
