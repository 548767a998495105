#!/usr/bin/env bash
# azd postprovision hook: prints the steps that remain after `azd provision` / `azd up`,
# filled in with this environment's values. It reads azd's environment variables (the
# outputs of infra/main.bicep) and changes nothing.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: postprovision.sh [--dry-run] [-h|--help]

Prints the manual steps that remain after `azd provision`, with this environment's values
(read from the azd environment: LEARNCAL_CLIENT_ID, AZURE_KEY_VAULT_NAME, ...).
It only prints; --dry-run is accepted for symmetry with the other scripts.

Run it again at any time:  azd hooks run postprovision
EOF
}

for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    --dry-run) ;;
    *) usage >&2; exit 2 ;;
  esac
done

value() {  # value NAME PLACEHOLDER
  local v="${!1:-}"
  if [[ -n "$v" ]]; then printf '%s' "$v"; else printf '%s' "$2"; fi
}

client_id="$(value LEARNCAL_CLIENT_ID '<app-client-id>')"
sp_id="$(value AZURE_APP_SERVICE_PRINCIPAL_ID '<service-principal-object-id>')"
tenant_id="$(value LEARNCAL_TENANT_ID '<tenant-id>')"
# The organizer pool (LEARNCAL_ORGANIZERS, comma-separated) when set, else the one organizer.
organizer="$(value LEARNCAL_ORGANIZERS "$(value LEARNCAL_ORGANIZER '<organizer@contoso.com>')")"
vault="$(value AZURE_KEY_VAULT_NAME '<key-vault-name>')"
app_url="$(value AZURE_FUNCTION_APP_URL '<function-app-url>')"
restriction="$(value MAILBOX_RESTRICTION rbacForApplications)"
auth_mode="$(value LEARNCAL_AUTH_MODE secret)"
group="$(value AZURE_RESOURCE_GROUP '<resource-group>')"
feed="$(value LEARNCAL_FEED blob:feeds)"
feed_account="$(value AZURE_FEED_STORAGE_ACCOUNT_NAME '<feed-storage-account>')"
feed_container="$(value AZURE_FEED_CONTAINER_NAME feeds)"
feed_sftp="$(value AZURE_FEED_SFTP_ENABLED false)"
sftp_user="$(value AZURE_FEED_SFTP_USER feeddrop)"
console_url="$(value AZURE_CONSOLE_URL "${app_url}/api/console/")"
signin_client="$(value AZURE_SIGNIN_CLIENT_ID '<sign-in-app-client-id>')"
signin_uri="$(value AZURE_SIGNIN_APP_ID_URI "api://${signin_client}")"
signin_sp="$(value AZURE_SIGNIN_SERVICE_PRINCIPAL_ID '<sign-in-service-principal-object-id>')"
admin_role="$(value AZURE_SIGNIN_ADMIN_ROLE_ID '<LearningCalendar.Admin role id>')"

cat <<EOF

Learning Calendar Sync is provisioned (tenant ${tenant_id}, app ${client_id}).
Remaining steps (docs/setup.md explains each one):
EOF

step=1
if [[ -z "${LEARNCAL_ORGANIZER:-}${LEARNCAL_ORGANIZERS:-}" ]]; then
  cat <<EOF

${step}. Choose the organizer mailbox and provision again:
     azd env set LEARNCAL_ORGANIZER learning.coordinator@contoso.com && azd provision
EOF
  step=$((step + 1))
fi

cat <<EOF

${step}. Create the organizer mailbox if it does not exist (Exchange Administrator, PowerShell):
     ./infra/scripts/New-OrganizerMailbox.ps1 -PrimarySmtpAddress ${organizer}
EOF
step=$((step + 1))

case "$restriction" in
  rbacForApplications)
    cat <<EOF

${step}. Give the app Calendars.ReadWrite for the organizer mailbox only (Exchange RBAC for
   Applications; Exchange Administrator; takes effect after 30 minutes to 2 hours):
     ./infra/scripts/Restrict-MailboxAccess.ps1 -Mode RbacForApplications -AppId ${client_id} \`
       -ServicePrincipalObjectId ${sp_id} -Organizer ${organizer}
EOF
    ;;
  applicationAccessPolicy)
    cat <<EOF

${step}. Restrict the app to the organizer mailbox with an application access policy
   (legacy; Exchange Administrator; takes effect after up to an hour or more):
     ./infra/scripts/Restrict-MailboxAccess.ps1 -Mode ApplicationAccessPolicy -AppId ${client_id} \`
       -Organizer ${organizer}
EOF
    ;;
  *)
    cat <<EOF

${step}. The app can write every mailbox's calendar in the tenant (MAILBOX_RESTRICTION=none).
   Restrict it to the organizer mailbox before production use (docs/setup.md, step 6).
EOF
    ;;
esac
step=$((step + 1))

if [[ "$auth_mode" == "secret" ]]; then
  cat <<EOF

${step}. Create the client secret and store it in Key Vault ${vault} (never printed):
     ./infra/scripts/create-client-secret.sh --app-id ${client_id} --vault-name ${vault}
EOF
  step=$((step + 1))
fi

cat <<EOF

${step}. Open the console and press Validate (sign in with your work account; you need the app role
   LearningCalendar.Admin, or LearningCalendar.Reader to read. Readers see learners' addresses):
     ${console_url}
   Give people a role in Microsoft Entra ID: Enterprise applications > the sign-in app
   (${signin_client}) > Users and groups > Add user/group. The deployer got Admin.
   Or from this machine:  eval "\$(azd env get-values)" && learncal validate

For automation (no function keys: the admin API accepts only Microsoft Entra tokens):
   1. Give the automation's app the role LearningCalendar.Admin (or .Reader) of the sign-in app:
        az rest --method POST --uri https://graph.microsoft.com/v1.0/servicePrincipals/${signin_sp}/appRoleAssignedTo \\
          --body '{"principalId": "<automation service principal object id>", "resourceId": "${signin_sp}", "appRoleId": "${admin_role}"}'
   2. Signed in as that app (az login --service-principal ...), get a token and call the API:
        token=\$(az account get-access-token --resource ${signin_uri} --query accessToken -o tsv)
        curl -fsS -X POST "${app_url}/api/provider/validate" -H "Authorization: Bearer \$token"
EOF
step=$((step + 1))

if [[ "$feed_sftp" == "true" ]]; then
  cat <<EOF

${step}. SFTP delivery is on. The learning system's report scheduler connects to
     host ${feed_account}.blob.core.windows.net, port 22, user ${feed_account}.${sftp_user},
   folder /feeds (its home directory). With FEED_SFTP_PUBLIC_KEY set it signs in with the
   matching private key; otherwise make its password (Azure shows it once: paste it into the
   scheduler's delivery server, nowhere else):
     az storage account local-user regenerate-password -g ${group} --account-name ${feed_account} -n ${sftp_user}
   docs/sources/oracle-learning.md sets up Oracle Learning's BI Publisher this way.
EOF
  step=$((step + 1))
fi

cat <<EOF

${step}. Drop your first feed, once 'azd up' (or 'azd deploy') has deployed the code and its
   postdeploy hook has subscribed the feed drop to Event Grid (LEARNCAL_FEED=${feed}):
     eval "\$(azd env get-values)"
     learncal feed push FILE      # with your Azure sign-in; checks it, prints what the run will do
   or, with the Azure CLI only:
     az storage blob upload --auth-mode login --account-name ${feed_account} \\
       --container-name ${feed_container} --name "feed-\$(date -u +%Y%m%dT%H%M%SZ).csv" --file FILE
   Expect a run within a minute: 'learncal runs' lists it, started by feed:<name>. Until a
   feed arrives, health and Validate warn "no feed yet" and the timer skips quietly.

The sync also runs on the LEARNCAL_SYNC_SCHEDULE timer (hourly by default), as a safety net.
EOF
