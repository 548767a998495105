// The feed drop: the private `feeds` container that learning systems and administrators upload
// feeds to, the clean-up policy for old feeds, the Event Grid system topic whose BlobCreated
// events start a run, and who may use the container. It goes on the function app's own storage
// account, or on the separate SFTP account (sftp-storage.bicep) when SFTP delivery is on.
//
// The event subscription is not made here: its webhook needs the function's blobs_extension key,
// which exists only once the code is deployed (infra/scripts/postdeploy.sh makes it).
// https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger

@description('Name of the storage account that holds the feed drop.')
param storageAccountName string

@description('Azure region (the system topic lives where its storage account is).')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('Name of the blob container of the feed drop.')
param containerName string = 'feeds'

@description('Name of the Event Grid system topic of the storage account.')
param systemTopicName string

@description('Days the product keeps earlier feeds (LEARNCAL_FEED_KEEP_DAYS); the product deletes them itself.')
@minValue(1)
param keepDays int = 30

@description('Days after the keep period before the lifecycle policy deletes a feed the product left behind.')
@minValue(1)
param deleteMarginDays int = 7

@description('Principal (object) ID of the function app\'s managed identity.')
param identityPrincipalId string

@description('Give the identity its blob and queue data roles on this account (the function app\'s own account has them from rbac.bicep).')
param grantIdentityRoles bool = false

@description('Object ID of the person or service principal running azd (AZURE_PRINCIPAL_ID): Storage Blob Data Contributor on the container, for `learncal feed push`; empty to skip.')
param deployerPrincipalId string = ''

@description('Create the SFTP local user (the account must have SFTP enabled).')
param sftpEnabled bool = false

@description('Name of the SFTP local user (3-64 lowercase letters and digits).')
param sftpUserName string = 'feeddrop'

@description('OpenSSH public key of the SFTP client (ssh-rsa ... / ecdsa-sha2-nistp256 ...); empty for an Azure-generated password, made with `az storage account local-user regenerate-password`.')
param sftpPublicKey string = ''

// Built-in role definitions (the same GUIDs in every tenant).
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

// Feeds hold learners' names and addresses: no anonymous access, ever (the account also refuses
// public access and shared keys).
// https://learn.microsoft.com/azure/storage/blobs/anonymous-read-access-prevent
resource feedsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

// The backstop behind the product's own clean-up (it deletes feeds older than keepDays, keeping
// the one in force): whatever is left under feeds/ is deleted keepDays + deleteMarginDays after
// its last change. Rules run about once a day, so deletion can come up to a day or two later.
// https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview
// https://learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts/managementpolicies
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          enabled: true
          name: 'delete-old-feeds'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: keepDays + deleteMarginDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    feedsContainer
  ]
}

// One system topic per storage account; the postdeploy hook subscribes the function's blob
// extension webhook to it (event type Microsoft.Storage.BlobCreated, subject under feeds/).
// https://learn.microsoft.com/azure/event-grid/create-view-manage-system-topics
// https://learn.microsoft.com/azure/templates/microsoft.eventgrid/systemtopics
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The blob trigger reads the feed and keeps its receipts on this account, and its Event Grid
// source queues each event internally on the connection's queue service.
// https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#identity-based-connections
resource identityBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantIdentityRoles) {
  name: guid(account.id, identityPrincipalId, storageBlobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource identityQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantIdentityRoles) {
  name: guid(account.id, identityPrincipalId, storageQueueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// `learncal feed push` and `az storage blob upload --auth-mode login` from the deployer's machine:
// read, write and delete blobs in this one container, nothing else on the account.
// https://learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access
resource deployerBlobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(feedsContainer.id, deployerPrincipalId, storageBlobDataContributor)
  scope: feedsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: deployerPrincipalId
  }
}

// The SFTP client (BI Publisher's delivery channel) signs in as this local user: Microsoft Entra
// ID and SAS do not work on the SFTP endpoint. It may create and write files in the `feeds`
// container and list it, and nothing else: no read, no delete, no other container. With a public
// key nothing secret is deployed; without one, Azure generates the password on request and shows
// it once (`az storage account local-user regenerate-password`); it is never an output here.
// https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support-authorize-access
// https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support
// https://learn.microsoft.com/azure/templates/microsoft.storage/storageaccounts/localusers
resource sftpUser 'Microsoft.Storage/storageAccounts/localUsers@2023-05-01' = if (sftpEnabled) {
  parent: account
  name: sftpUserName
  properties: {
    homeDirectory: containerName
    permissionScopes: [
      {
        service: 'blob'
        resourceName: containerName
        permissions: 'cwl'
      }
    ]
    hasSshKey: !empty(sftpPublicKey)
    hasSshPassword: empty(sftpPublicKey)
    hasSharedKey: false
    sshAuthorizedKeys: empty(sftpPublicKey) ? [] : [
      {
        description: 'feed delivery'
        key: sftpPublicKey
      }
    ]
  }
  dependsOn: [
    feedsContainer
  ]
}

output containerName string = feedsContainer.name
output systemTopicName string = systemTopic.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output sftpUserName string = sftpEnabled ? sftpUserName : ''
