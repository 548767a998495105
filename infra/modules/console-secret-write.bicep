// Opt-in (allowConsoleSecretWrite, azd env ALLOW_CONSOLE_SECRET_WRITE): lets the console and
// PUT /api/provider save or rotate the client secret by giving the function app's identity
// Key Vault Secrets Officer on that ONE secret, not on the vault. Every other secret in the vault
// stays read-only (Key Vault Secrets User, modules/rbac.bicep) to the function app.
//
// Azure RBAC for Key Vault assigns data-plane roles at the scope of an individual secret
// ("Secret scope role assignment"):
// https://learn.microsoft.com/azure/key-vault/general/rbac-guide
// The assignment is a Microsoft.Authorization/roleAssignments extension resource whose scope is
// the secret (Microsoft.KeyVault/vaults/secrets):
// https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#scope
//
// The secret must exist when this deploys (an `existing` reference to a missing secret fails the
// deployment): create it first with infra/scripts/create-client-secret.sh after the first
// `azd provision`, then `azd env set ALLOW_CONSOLE_SECRET_WRITE true && azd provision`.

@description('Principal (object) ID of the function app\'s user-assigned managed identity.')
param identityPrincipalId string

@description('Name of the Key Vault.')
param keyVaultName string

@description('Name of the client secret in the vault (LEARNCAL_CLIENT_SECRET_NAME); it must already exist.')
param clientSecretName string

// Built-in role definition (the same GUID in every tenant).
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource clientSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: clientSecretName
}

resource secretOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(clientSecret.id, identityPrincipalId, keyVaultSecretsOfficer)
  scope: clientSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentId string = secretOfficer.id
