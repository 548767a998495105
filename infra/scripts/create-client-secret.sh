#!/usr/bin/env bash
# Creates a client secret for the Learning Calendar Sync app registration and stores it
# straight into Key Vault. The secret never appears on screen, in a file or in a shell
# variable: it is piped from `az ad app credential reset` into `az keyvault secret set`.
#
# Run `create-client-secret.sh --help` for the options.
set -euo pipefail

readonly DEFAULT_SECRET_NAME="graph-client-secret"
readonly DEFAULT_MONTHS=12
readonly DEFAULT_RENEW_DAYS=30

usage() {
  cat <<'EOF'
Usage: create-client-secret.sh [options]

Creates a client secret for the app registration (appends it, so existing secrets keep
working) and stores it in Key Vault. The secret value is never printed.

Idempotent: when Key Vault already holds the secret and it is valid for longer than the
renewal window, nothing is created (use --rotate to create a new one anyway).

Options:
  --app-id ID          application (client) ID        [env LEARNCAL_CLIENT_ID]
  --vault-name NAME    Key Vault name                 [env AZURE_KEY_VAULT_NAME]
  --secret-name NAME   secret name in Key Vault       [env LEARNCAL_CLIENT_SECRET_NAME,
                                                       default graph-client-secret]
  --months N           lifetime of the new secret in months (default 12)
  --end-date DATE      end date instead of --months (YYYY-MM-DD, UTC)
  --display-name TEXT  description of the credential on the app registration
                       (default learncal-YYYYMMDD)
  --renew-days N       renew when the stored secret expires within N days (default 30)
  --rotate             create a new secret even when the stored one is still valid
  --dry-run            print every command that would run; change nothing
  -h, --help           show this help

After `azd up`, the environment variables come from azd:
  eval "$(azd env get-values)" && infra/scripts/create-client-secret.sh

Roles needed: owner of the app registration, Application Administrator or Cloud
Application Administrator (to add a credential); Key Vault Secrets Officer on the vault
(azd grants it to the person who ran `azd up`).

Afterwards, remove old credentials with:
  az ad app credential list --id APP_ID --query "[].{keyId:keyId,name:displayName,end:endDateTime}"
  az ad app credential delete --id APP_ID --key-id KEY_ID
EOF
}

die() {
  printf 'create-client-secret.sh: %s\n' "$1" >&2
  exit "${2:-1}"
}

# Prints a command as it would be typed (each argument shell-quoted).
show() {
  local quoted
  printf -v quoted ' %q' "$@"
  printf '+%s\n' "$quoted"
}

app_id="${LEARNCAL_CLIENT_ID:-}"
vault_name="${AZURE_KEY_VAULT_NAME:-}"
secret_name="${LEARNCAL_CLIENT_SECRET_NAME:-$DEFAULT_SECRET_NAME}"
months="$DEFAULT_MONTHS"
end_date=""
display_name=""
renew_days="$DEFAULT_RENEW_DAYS"
rotate=false
dry_run=false

while [[ $# -gt 0 ]]; do
  case "$1" in
    --app-id) app_id="${2:?--app-id needs a value}"; shift 2 ;;
    --vault-name) vault_name="${2:?--vault-name needs a value}"; shift 2 ;;
    --secret-name) secret_name="${2:?--secret-name needs a value}"; shift 2 ;;
    --months) months="${2:?--months needs a value}"; shift 2 ;;
    --end-date) end_date="${2:?--end-date needs a value}"; shift 2 ;;
    --display-name) display_name="${2:?--display-name needs a value}"; shift 2 ;;
    --renew-days) renew_days="${2:?--renew-days needs a value}"; shift 2 ;;
    --rotate) rotate=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" 2 ;;
  esac
done

[[ -n "$app_id" ]] || die "no app ID: pass --app-id or set LEARNCAL_CLIENT_ID" 2
[[ -n "$vault_name" ]] || die "no Key Vault: pass --vault-name or set AZURE_KEY_VAULT_NAME" 2
[[ "$months" =~ ^[0-9]+$ && "$months" -ge 1 && "$months" -le 24 ]] || die "--months must be 1 to 24" 2
[[ "$renew_days" =~ ^[0-9]+$ ]] || die "--renew-days must be a number of days" 2
[[ -z "$end_date" || "$end_date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "--end-date must be YYYY-MM-DD" 2

# GNU date (Linux) and BSD date (macOS) spell date arithmetic differently.
date_after() {  # date_after MONTHS|DAYS UNIT -> YYYY-MM-DD (UTC)
  date -u -d "+$1 $2" +%Y-%m-%d 2>/dev/null || date -u -v "+$1${2:0:1}" +%Y-%m-%d
}
if [[ -z "$end_date" ]]; then
  end_date="$(date_after "$months" months)"
fi
if [[ -z "$display_name" ]]; then
  display_name="learncal-$(date -u +%Y%m%d)"
fi
renew_before="$(date_after "$renew_days" days)"

reset_cmd=(az ad app credential reset --id "$app_id" --append
  --display-name "$display_name" --end-date "$end_date"
  --query password --output tsv)
# --file /dev/stdin keeps the value off the command line (and out of the process list);
# --output none keeps az from printing the stored secret back.
set_cmd=(az keyvault secret set --vault-name "$vault_name" --name "$secret_name"
  --file /dev/stdin --encoding utf-8 --expires "${end_date}T00:00:00Z"
  --content-type "client secret of app ${app_id}" --output none)
show_cmd=(az keyvault secret show --vault-name "$vault_name" --name "$secret_name"
  --query attributes.expires --output tsv)

if [[ "$dry_run" == true ]]; then
  echo "Dry run: these commands would run (nothing is changed)."
  show "${show_cmd[@]}"
  echo "# if the stored secret expires after ${renew_before} and --rotate is not given, stop here"
  echo "# otherwise (the first command's output is piped into the second, never shown):"
  show "${reset_cmd[@]}"
  show "${set_cmd[@]}"
  exit 0
fi

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"

if [[ "$rotate" != true ]]; then
  expires=""
  if expires="$("${show_cmd[@]}" 2>/dev/null)" && [[ -n "$expires" ]]; then
    if [[ "${expires:0:10}" > "$renew_before" ]]; then
      echo "Key Vault ${vault_name} already holds ${secret_name}, valid until ${expires}; nothing to do."
      echo "Pass --rotate to create a new secret anyway."
      exit 0
    fi
    echo "Stored secret ${secret_name} expires ${expires} (within ${renew_days} days): creating a new one."
  fi
fi

echo "Creating a client secret for app ${app_id} (display name ${display_name}, ends ${end_date})"
echo "and storing it as ${secret_name} in Key Vault ${vault_name}."
if ! "${reset_cmd[@]}" | tr -d '\r\n' | "${set_cmd[@]}"; then
  die "failed. If the credential was created but not stored, delete it:
  az ad app credential list --id ${app_id} --query \"[?displayName=='${display_name}'].keyId\" --output tsv
  az ad app credential delete --id ${app_id} --key-id KEY_ID"
fi
echo "Done. The function app reads the new secret on its next sign-in; old credentials stay valid until they end."
