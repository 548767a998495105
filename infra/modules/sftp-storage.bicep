// The separate feed-drop account for SFTP delivery (off by default; main.bicep `feedSftp`).
// SFTP on Azure Blob Storage needs a hierarchical namespace, which cannot be turned off again
// and which the Functions host storage should not have, so the SFTP endpoint gets an account
// of its own. feed-drop.bicep then puts the `feeds` container, its clean-up policy, its Event
// Grid system topic, the local user and the data roles on it.
// https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support
// https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support-how-to

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the resources.')
param tags object = {}

// Locally or zone redundant only: the account just passes feeds through, and SFTP's known issues
// have listed the geo-redundant options as unsupported:
// https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-known-issues
@description('Storage redundancy (locally or zone redundant only).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param sftpSkuName string = 'Standard_LRS'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the SFTP endpoint is reached by the learning system from outside Azure (BI Publisher in Oracle's cloud); local users are the only sign-in it accepts and each is limited to the feeds container.
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35; anonymous blob access and shared keys are disabled, so the blob endpoint serves Microsoft Entra authenticated requests only.
  // checkov:skip=CKV_AZURE_206: SFTP's known issues list geo-redundant storage as unsupported, and the account only passes feeds through (the product keeps what it applied in its own tables), and a lost feed is exported again by the next scheduled report.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: sftpSkuName
  }
  properties: {
    accessTier: 'Hot'
    isHnsEnabled: true
    isSftpEnabled: true
    isLocalUserEnabled: true
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
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

// Blob versioning and change feed are not supported with a hierarchical namespace; deleted
// feeds stay recoverable for seven days, as on the host account.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
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

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
