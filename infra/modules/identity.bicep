// The user-assigned managed identity the function app runs as. It reaches Storage, Key Vault
// and Application Insights through role assignments (rbac.bicep) and, in federated mode, is
// trusted by the app registration as its credential (graph-app.bicep).

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
