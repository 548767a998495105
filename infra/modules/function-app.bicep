// The function app on the Flex Consumption plan (FC1): Python 3.11, deployment packages in a
// blob container read with the user-assigned identity, identity-based host storage, and the
// product's settings (LEARNCAL_*). No connection string, key or secret is written here.

@description('Name of the function app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the resources; the function app also gets azd-service-name.')
param tags object = {}

@description('azd service name of this app (azure.yaml).')
param serviceName string = 'api'

@description('Resource ID of the user-assigned managed identity.')
param identityId string

@description('Client ID of the user-assigned managed identity.')
param identityClientId string

@description('Name of the storage account.')
param storageAccountName string

@description('Blob endpoint of the storage account (ends with a slash).')
param blobEndpoint string

@description('Table endpoint of the storage account (ends with a slash).')
param tableEndpoint string

@description('Queue endpoint of the storage account (ends with a slash).')
param queueEndpoint string

@description('Blob container for deployment packages.')
param deploymentContainerName string

@description('Blob endpoint of the feed drop\'s storage account (the app\'s own, or the SFTP account).')
param feedBlobEndpoint string

@description('Queue endpoint of the feed drop\'s storage account.')
param feedQueueEndpoint string

@description('Application Insights connection string.')
param applicationInsightsConnectionString string

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('The product settings (LEARNCAL_TENANT_ID and the rest), all strings.')
param tenantId string
param clientId string
param keyVaultUrl string
param clientSecretName string
param authMode string
param organizer string
param organizers string
param status string
param feed string
param feedCsvMapping string
param feedKeepDays string
param responseKeepDays string
param responseWebhookUrl string
param alertDeclinedInstructor string
param requestResponses string
@description('The public https address Graph delivers change notifications to; empty: the default host name.')
param publicUrl string = ''
param recipientAllowlist string
param sendPerMinute string
param sendPerDay string
param runSeconds string
param sendSliceSeconds string
param massCancelMin string
param massCancelRatio string
param massCancelMax string
param allowMassCancel string
param syncSchedule string
param graphUrl string
param authorityUrl string
param tablePrefix string

@description('Resource ID of the managed identity App Service Authentication signs in with (the sign-in app\'s federated credential); empty when it uses a Key Vault secret.')
param authIdentityId string = ''

@description('Client ID of that managed identity (OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID).')
param authIdentityClientId string = ''

@description('Key Vault reference to the sign-in app\'s client secret (@Microsoft.KeyVault(SecretUri=...)), used only without a sign-in managed identity.')
param signInSecretReference string = ''

// App Service Authentication's client credential (modules/auth.bicep names the setting): the
// managed identity as federated credential, or else a Key Vault reference to a client secret.
// Names the platform reads, not the product.
var signInSettings = !empty(authIdentityClientId) ? {
  OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: authIdentityClientId
} : (!empty(signInSecretReference) ? {
  MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: signInSecretReference
} : {})

// Every app setting of the function app. tests/infra/test_infra.py checks that these names
// are exactly the ones the code reads (shared/settings.py) plus the Functions host's own names.
var appSettings = {
  // Functions host storage, identity-based (no connection string).
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Application Insights with Microsoft Entra authenticated ingestion.
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The product.
  LEARNCAL_TENANT_ID: tenantId
  LEARNCAL_CLIENT_ID: clientId
  LEARNCAL_KEY_VAULT_URL: keyVaultUrl
  LEARNCAL_CLIENT_SECRET_NAME: clientSecretName
  LEARNCAL_AUTH_MODE: authMode
  LEARNCAL_MANAGED_IDENTITY_CLIENT_ID: identityClientId
  LEARNCAL_ORGANIZER: organizer
  LEARNCAL_ORGANIZERS: organizers
  LEARNCAL_STATUS: status
  LEARNCAL_FEED: feed
  LEARNCAL_FEED_CSV_MAPPING: feedCsvMapping
  LEARNCAL_FEED_KEEP_DAYS: feedKeepDays
  // The feed drop: the connection of the `feed_arrived` blob trigger (Event Grid source) and of the
  // product's `blob:` feeds, identity-based like AzureWebJobsStorage. A custom connection names
  // both service URIs, because the blob trigger uses the queue service too.
  // https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection
  LEARNCAL_FEED_STORAGE__blobServiceUri: feedBlobEndpoint
  LEARNCAL_FEED_STORAGE__queueServiceUri: feedQueueEndpoint
  LEARNCAL_FEED_STORAGE__credential: 'managedidentity'
  LEARNCAL_FEED_STORAGE__clientId: identityClientId
  LEARNCAL_RECIPIENT_ALLOWLIST: recipientAllowlist
  LEARNCAL_RESPONSE_KEEP_DAYS: responseKeepDays
  LEARNCAL_RESPONSE_WEBHOOK_URL: responseWebhookUrl
  LEARNCAL_ALERT_DECLINED_INSTRUCTOR: alertDeclinedInstructor
  // Response collection: Graph posts change notifications to LEARNCAL_PUBLIC_URL/api/notifications (excluded
  // from sign-in in auth.bicep). The site's own host name cannot be read inside its own settings, so the
  // default host name is spelled from the app's name.
  LEARNCAL_REQUEST_RESPONSES: requestResponses
  LEARNCAL_PUBLIC_URL: empty(publicUrl) ? 'https://${name}.azurewebsites.net' : publicUrl
  LEARNCAL_SEND_PER_MINUTE: sendPerMinute
  LEARNCAL_SEND_PER_DAY: sendPerDay
  LEARNCAL_RUN_SECONDS: runSeconds
  LEARNCAL_SEND_SLICE_SECONDS: sendSliceSeconds
  LEARNCAL_MASS_CANCEL_MIN: massCancelMin
  LEARNCAL_MASS_CANCEL_RATIO: massCancelRatio
  LEARNCAL_MASS_CANCEL_MAX: massCancelMax
  LEARNCAL_ALLOW_MASS_CANCEL: allowMassCancel
  LEARNCAL_SYNC_SCHEDULE: syncSchedule
  LEARNCAL_GRAPH_URL: graphUrl
  LEARNCAL_AUTHORITY_URL: authorityUrl
  LEARNCAL_TABLE_PREFIX: tablePrefix
  // The queue triggers' names (`queue_name="%LEARNCAL_SEND_QUEUE%"` in function_app.py), resolved by the
  // Functions host from these settings: the queues the product sends to, named after the table prefix
  // (shared/queue/names.py), so any prefix works. A missing one leaves its function out.
  // https://learn.microsoft.com/azure/azure-functions/functions-bindings-expressions-patterns
  LEARNCAL_SEND_QUEUE: '${toLower(tablePrefix)}-send'
  LEARNCAL_RUNS_QUEUE: '${toLower(tablePrefix)}-runs'
  LEARNCAL_JOBS_QUEUE: '${toLower(tablePrefix)}-jobs'
  LEARNCAL_WEBHOOKS_QUEUE: '${toLower(tablePrefix)}-webhooks'
  LEARNCAL_RESPONSES_QUEUE: '${toLower(tablePrefix)}-responses'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: an hourly batch job; a run missed during a zone outage is caught up by the next one, and zone-redundant Flex Consumption is offered only in some regions.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: azd deploys over the public endpoint and administrators use the console and admin HTTP API there; App Service Authentication (modules/auth.bicep) requires a Microsoft Entra sign-in with an app role, and the app has no virtual network.
  // checkov:skip=CKV_AZURE_17: callers of the console and admin HTTP API sign in with Microsoft Entra ID (App Service Authentication) over HTTPS; client certificates are not used.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero on demand; the timer runs on a single instance, so there is no minimum instance count to set.
  // checkov:skip=CKV_AZURE_213: a health-check probe does not fit an app that scales to zero; failed runs are recorded in Application Insights and in the runs table.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: union({
      '${identityId}': {}
    }, empty(authIdentityId) ? {} : {
      '${authIdentityId}': {}
    })
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(union(appSettings, signInSettings)): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

resource basicPublishingFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource basicPublishingScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
