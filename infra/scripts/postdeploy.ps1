<#
.SYNOPSIS
azd postdeploy hook (Windows): subscribes the function's blob extension to the feed drop's Event Grid system topic.

.DESCRIPTION
Creates or updates the Event Grid subscription learncal-feed-arrived, which delivers
Microsoft.Storage.BlobCreated events of the feed drop's `feeds` container to the function
feed_arrived (blob trigger, Event Grid source), so that a new feed starts a run within a minute.
It waits for the function's blobs_extension system key, which exists only once the code is
deployed, as Microsoft's sample Azure-Samples/functions-quickstart-python-azd-eventgrid-blob
does (scripts/post-up.ps1). The key is never printed and never put on a command line: the
endpoint reaches az from a private temporary file (@FILE). postdeploy.sh is the same for macOS
and Linux. Idempotent: run it again after a redeployment or a key rotation.
https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger

.PARAMETER Attempts
How many times to ask for the blobs_extension key before giving up (default 20).

.PARAMETER WaitSeconds
Seconds between two attempts (default 15).

.PARAMETER DryRun
Print the commands (with the key left out); change nothing.

.EXAMPLE
azd hooks run postdeploy
#>
[CmdletBinding()]
param(
    [int] $Attempts = 20,
    [int] $WaitSeconds = 15,
    [switch] $DryRun
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Get-Required([string] $Name) {
    $v = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($v)) {
        throw "$Name is not set; run this through azd (azd hooks run postdeploy) or load the azd environment first."
    }
    return $v
}

$group = Get-Required 'AZURE_RESOURCE_GROUP'
$appName = Get-Required 'AZURE_FUNCTION_APP_NAME'
$appUrl = (Get-Required 'AZURE_FUNCTION_APP_URL').TrimEnd('/')
$topic = Get-Required 'AZURE_FEED_SYSTEM_TOPIC_NAME'
$container = [Environment]::GetEnvironmentVariable('AZURE_FEED_CONTAINER_NAME')
if ([string]::IsNullOrEmpty($container)) { $container = 'feeds' }
$sftp = [Environment]::GetEnvironmentVariable('AZURE_FEED_SFTP_ENABLED') -eq 'true'

# BlobCreated operations of a complete blob; SftpCommit is an upload over the SFTP endpoint.
# https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage
$apis = @('PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose')
if ($sftp) { $apis += 'SftpCommit' }

$subscriptionArgs = @(
    'eventgrid', 'system-topic', 'event-subscription', 'create',
    '--name', 'learncal-feed-arrived',
    '--resource-group', $group,
    '--system-topic-name', $topic,
    '--endpoint-type', 'webhook',
    '--included-event-types', 'Microsoft.Storage.BlobCreated',
    '--subject-begins-with', "/blobServices/default/containers/$container/blobs/",
    '--advanced-filter', 'data.api', 'StringIn') + $apis + @('--output', 'none')
$endpointBase = "$appUrl/runtime/webhooks/blobs?functionName=Host.Functions.feed_arrived"

if ($DryRun) {
    Write-Host "+ az functionapp keys list --resource-group $group --name $appName --query systemKeys.blobs_extension --output tsv"
    Write-Host "+ (endpoint file) $endpointBase&code=<blobs_extension key>"
    Write-Host ('+ az ' + ($subscriptionArgs -join ' ') + ' --endpoint @<endpoint file>')
    return
}

$key = ''
for ($i = 1; $i -le $Attempts; $i++) {
    $key = (& az functionapp keys list --resource-group $group --name $appName --query systemKeys.blobs_extension --output tsv 2>$null)
    if ($key -and $key -ne 'None') { break }
    $key = ''
    if ($i -lt $Attempts) {
        Write-Host "Waiting for the blobs_extension key of $appName ($i/$Attempts)..."
        Start-Sleep -Seconds $WaitSeconds
    }
}
if (-not $key) {
    throw "The function app $appName has no blobs_extension key yet (is feed_arrived deployed?). Run again: azd hooks run postdeploy"
}

$endpointFile = (New-TemporaryFile).FullName
try {
    Set-Content -LiteralPath $endpointFile -Value "$endpointBase&code=$key" -NoNewline
    # An error message may quote the endpoint (Event Grid's validation handshake names it): show it
    # with the key masked.
    $output = & az @subscriptionArgs --endpoint "@$endpointFile" 2>&1
    if ($LASTEXITCODE -ne 0) {
        Write-Host (($output | Out-String).Replace($key, '<blobs_extension key>'))
        throw 'The event subscription could not be made; run again with: azd hooks run postdeploy'
    }
}
finally {
    $key = $null
    Remove-Item -LiteralPath $endpointFile -Force -ErrorAction SilentlyContinue
}

Write-Host ''
Write-Host "A new feed in the $container container now starts a run (uploads: $($apis -join ', '))."
Write-Host 'Drop your first feed (with your own Azure sign-in):'
Write-Host '     learncal feed push FILE'
Write-Host "  or az storage blob upload --auth-mode login --account-name $env:AZURE_FEED_STORAGE_ACCOUNT_NAME --container-name $container --name feed-<UTC time>.csv --file FILE"
Write-Host 'A run starts within a minute; follow it with: learncal runs'
Write-Host '(Your upload role is new: if the upload is refused as not authorized, wait a few minutes.)'
Write-Host 'The console and the admin HTTP API take a Microsoft Entra sign-in with an app role, never a function key; this hook prints no key (docs/setup.md, step 7).'
