#!/usr/bin/env bash
# azd postdeploy hook: subscribes the function's blob extension to the feed drop's Event Grid
# system topic, so that a feed landing in the `feeds` container starts a run within a minute.
#
# The subscription cannot be part of the Bicep: its webhook URL carries the function's
# `blobs_extension` system key, which exists only once the code is deployed, and Event Grid
# validates the endpoint when the subscription is made. Microsoft's own sample does the same in
# its postdeploy hook (Azure-Samples/functions-quickstart-python-azd-eventgrid-blob,
# scripts/post-up.sh); see also
# https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger
#
# The key is never printed and never put on a command line: the endpoint goes to az from a
# private temporary file (az reads `@FILE` arguments from the file).
set -euo pipefail

readonly SUBSCRIPTION_NAME="learncal-feed-arrived"
readonly FUNCTION_NAME="feed_arrived"

usage() {
  cat <<'EOF_USAGE'
Usage: postdeploy.sh [--dry-run] [-h|--help]

Creates or updates the Event Grid subscription that delivers BlobCreated events of the feed
drop's `feeds` container to the function `feed_arrived` (blob trigger, Event Grid source).
Idempotent: run it again after a redeployment or a key rotation.

Reads the azd environment (azd sets it for hooks; otherwise: eval "$(azd env get-values)"):
  AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME, AZURE_FUNCTION_APP_URL,
  AZURE_FEED_SYSTEM_TOPIC_NAME, AZURE_FEED_CONTAINER_NAME (default feeds),
  AZURE_FEED_SFTP_ENABLED (true adds SftpCommit uploads to the filter).
Waits for the function's blobs_extension key: LEARNCAL_KEY_ATTEMPTS tries (default 20),
LEARNCAL_KEY_WAIT_SECONDS apart (default 15).

  --dry-run   print the commands (with the key left out); change nothing
  -h, --help  show this help

Run it again at any time:  azd hooks run postdeploy
EOF_USAGE
}

dry_run=false
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run=true ;;
    *) usage >&2; exit 2 ;;
  esac
done

die() {
  printf 'postdeploy.sh: %s\n' "$1" >&2
  exit "${2:-1}"
}

show() {  # prints a command as it would be typed
  local quoted
  printf -v quoted ' %q' "$@"
  printf '+%s\n' "$quoted"
}

need() {  # need NAME: the azd environment value, or stop naming it
  [[ -n "${!1:-}" ]] || die "$1 is not set; run it through azd (azd hooks run postdeploy) or eval \"\$(azd env get-values)\" first"
  printf '%s' "${!1}"
}

group="$(need AZURE_RESOURCE_GROUP)"
app_name="$(need AZURE_FUNCTION_APP_NAME)"
app_url="$(need AZURE_FUNCTION_APP_URL)"
topic="$(need AZURE_FEED_SYSTEM_TOPIC_NAME)"
container="${AZURE_FEED_CONTAINER_NAME:-feeds}"
sftp="${AZURE_FEED_SFTP_ENABLED:-false}"
attempts="${LEARNCAL_KEY_ATTEMPTS:-20}"
wait_seconds="${LEARNCAL_KEY_WAIT_SECONDS:-15}"

# BlobCreated is raised for these operations once a blob is complete; SftpCommit is an upload over
# the SFTP endpoint. https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage
apis=(PutBlob PutBlockList CopyBlob FlushWithClose)
shopt -s nocasematch
if [[ "$sftp" == "true" ]]; then apis+=(SftpCommit); fi
shopt -u nocasematch

subscription_args=(
  eventgrid system-topic event-subscription create
  --name "$SUBSCRIPTION_NAME"
  --resource-group "$group"
  --system-topic-name "$topic"
  --endpoint-type webhook
  --included-event-types Microsoft.Storage.BlobCreated
  --subject-begins-with "/blobServices/default/containers/${container}/blobs/"
  --advanced-filter data.api StringIn "${apis[@]}"
  --output none
)
endpoint_base="${app_url%/}/runtime/webhooks/blobs?functionName=Host.Functions.${FUNCTION_NAME}"

if [[ "$dry_run" == true ]]; then
  show az functionapp keys list --resource-group "$group" --name "$app_name" --query systemKeys.blobs_extension --output tsv
  printf '+ (endpoint file) %s&code=<blobs_extension key>\n' "$endpoint_base"
  show az "${subscription_args[@]}" --endpoint "@<endpoint file>"
  exit 0
fi

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli"

# The system key appears once the host has started with the blob trigger indexed, which can take
# a while after `azd deploy`. https://learn.microsoft.com/cli/azure/functionapp/keys
key=""
az_error="$(umask 077 && mktemp)"
for ((i = 1; i <= attempts; i++)); do
  key="$(az functionapp keys list --resource-group "$group" --name "$app_name" \
    --query systemKeys.blobs_extension --output tsv 2>"$az_error" || true)"
  if [[ -n "$key" && "$key" != "None" ]]; then break; fi
  key=""
  if ((i < attempts)); then
    printf 'Waiting for the blobs_extension key of %s (%d/%d)...\n' "$app_name" "$i" "$attempts"
    sleep "$wait_seconds"
  fi
done
last_error="$(head -c 500 "$az_error")"
rm -f "$az_error"
if [[ -z "$key" ]]; then
  [[ -z "$last_error" ]] || printf 'az functionapp keys list said: %s\n' "$last_error" >&2
  die "the function app ${app_name} has no blobs_extension key yet (is feed_arrived deployed? see the Functions page in the portal, then run: azd hooks run postdeploy)"
fi

endpoint_file="$(umask 077 && mktemp)"
create_error="$(umask 077 && mktemp)"
trap 'rm -f "$endpoint_file" "$create_error"' EXIT
printf '%s&code=%s' "$endpoint_base" "$key" >"$endpoint_file"

# An error message may quote the endpoint (Event Grid's validation handshake names it): show it
# with the key masked.
if ! az "${subscription_args[@]}" --endpoint "@${endpoint_file}" 2>"$create_error"; then
  message="$(cat "$create_error")"
  printf '%s\n' "${message//"$key"/<blobs_extension key>}" >&2
  die "the event subscription could not be made; run again with: azd hooks run postdeploy"
fi
unset key
rm -f "$endpoint_file" "$create_error"

cat <<EOF

A new feed in the ${container} container now starts a run (Event Grid subscription
${SUBSCRIPTION_NAME} on ${topic}; uploads: ${apis[*]}).

Drop your first feed:
  eval "\$(azd env get-values)"
  learncal feed push FILE                  # checks it, stores it, prints what the next run will do
or, with the Azure CLI only:
  az storage blob upload --auth-mode login --account-name "\$AZURE_FEED_STORAGE_ACCOUNT_NAME" \\
    --container-name ${container} --name "feed-\$(date -u +%Y%m%dT%H%M%SZ).csv" --file FILE
A run starts within a minute; follow it with:  learncal runs
(Your upload role is new: if the upload is refused as not authorized, wait a few minutes.)

The console and the admin HTTP API take a Microsoft Entra sign-in with an app role of the sign-in
app, never a function key; this hook prints no key (docs/setup.md, step 7).
EOF
