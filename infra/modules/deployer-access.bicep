// Storage Table Data Contributor on the storage account for the person (or pipeline) that
// deploys, so `learncal runs`, `learncal mapping rebuild` and `learncal provider` work from their
// machine with their Azure sign-in (DefaultAzureCredential) against the deployed tables.

@description('Object ID of the person or service principal running the deployment (AZURE_PRINCIPAL_ID).')
param deployerPrincipalId string

@description('Name of the storage account.')
param storageAccountName string

var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource deployerTableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, deployerPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: deployerPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}
