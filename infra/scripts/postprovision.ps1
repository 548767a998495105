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
$restriction = Get-Value 'MAILBOX_RESTRICTION' 'rbacForApplications'
$authMode = Get-Value 'LEARNCAL_AUTH_MODE' 'secret'
$group = Get-Value 'AZURE_RESOURCE_GROUP' '<resource-group>'
$feed = Get-Value 'LEARNCAL_FEED' 'blob:feeds'
$feedAccount = Get-Value 'AZURE_FEED_STORAGE_ACCOUNT_NAME' '<feed-storage-account>'
$feedContainer = Get-Value 'AZURE_FEED_CONTAINER_NAME' 'feeds'
$feedSftp = Get-Value 'AZURE_FEED_SFTP_ENABLED' 'false'
$sftpUser = Get-Value 'AZURE_FEED_SFTP_USER' 'feeddrop'
$consoleUrl = Get-Value 'AZURE_CONSOLE_URL' "$appUrl/api/console/"
$signInClient = Get-Value 'AZURE_SIGNIN_CLIENT_ID' '<sign-in-app-client-id>'
$signInUri = Get-Value 'AZURE_SIGNIN_APP_ID_URI' "api://$signInClient"
$signInSp = Get-Value 'AZURE_SIGNIN_SERVICE_PRINCIPAL_ID' '<sign-in-service-principal-object-id>'
$adminRole = Get-Value 'AZURE_SIGNIN_ADMIN_ROLE_ID' '<LearningCalendar.Admin role id>'

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
Write-Host "$step. Open the console and press Validate (sign in; you need the app role LearningCalendar.Admin,"
Write-Host "   or LearningCalendar.Reader to read. Readers see learners' addresses):"
Write-Host "     $consoleUrl"
Write-Host "   Give people a role: Microsoft Entra ID > Enterprise applications > the sign-in app ($signInClient)"
Write-Host '   > Users and groups. The deployer got Admin. Or from this machine: learncal validate'
Write-Host ''
Write-Host 'For automation (no function keys: the admin API accepts only Microsoft Entra tokens):'
Write-Host "   1. Give the automation's app the role LearningCalendar.Admin (or .Reader) of the sign-in app:"
Write-Host "        New-MgServicePrincipalAppRoleAssignedTo -ServicePrincipalId $signInSp -PrincipalId <automation service principal object id> -ResourceId $signInSp -AppRoleId $adminRole"
Write-Host '   2. Signed in as that app, get a token and call the API:'
Write-Host "        `$token = az account get-access-token --resource $signInUri --query accessToken -o tsv"
Write-Host "        Invoke-RestMethod -Method Post -Uri $appUrl/api/provider/validate -Headers @{ Authorization = `"Bearer `$token`" }"
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
