// The storage account of the function app: the Functions host (AzureWebJobsStorage), the
// product's state in Table Storage, its work queues, and the blob container that holds
// deployment packages. The feed drop (the `feeds` container, its clean-up policy and its
// Event Grid system topic) is added by feed-drop.bicep, here or on the SFTP account.
// Only Microsoft Entra authentication is accepted (shared keys are disabled).

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('Name of the blob container that receives deployment packages.')
param deploymentContainerName string

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_GRS'

@description('Queues the queue-triggered functions read (their poison queues are made by the host when needed).')
param queueNames array = [
  'learncal-send'
  'learncal-runs'
  'learncal-jobs'
  'learncal-webhooks'
  'learncal-responses'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: Flex Consumption without virtual network integration reaches its storage over the public endpoint; access needs a Microsoft Entra token and a data role (shared keys are disabled).
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35; anonymous blob access and shared keys are disabled, so the public endpoint serves authenticated requests only.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The work queues exist from the first start, before any message is sent or any trigger polls
// (named after the table prefix: learncal-send, learncal-runs, learncal-jobs, learncal-webhooks,
// learncal-responses by default; main.bicep passes them; the host adds <queue>-poison itself).
// https://learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts/queueservices/queues
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output deploymentContainerName string = deploymentContainer.name
