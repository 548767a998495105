// Learning Calendar Sync: everything `azd up` provisions.
//
//   resource group
//   ├─ user-assigned managed identity            modules/identity.bicep
//   ├─ Log Analytics + Application Insights      modules/monitoring.bicep
//   ├─ action group + log alert rules            modules/alerts.bicep
//   ├─ Storage account + deployment container    modules/storage.bicep
//   │  and work queues
//   ├─ feed drop: `feeds` container, clean-up    modules/feed-drop.bicep
//   │  policy, Event Grid system topic, roles    (on the storage account above, or on
//   ├─ SFTP feed-drop account (feedSftp=true)    modules/sftp-storage.bicep)
//   ├─ Key Vault (RBAC, purge protection)        modules/keyvault.bicep
//   ├─ role assignments                          modules/rbac.bicep
//   ├─ console secret write (opt-in): Secrets    modules/console-secret-write.bicep
//   │  Officer on the one client secret
//   ├─ Flex Consumption plan + function app      modules/function-app.bicep
//   ├─ Microsoft Entra app registration          graph-app.bicep (Microsoft Graph extension)
//   ├─ sign-in app registration + its identity   signin-app.bicep (Microsoft Graph extension)
//   ├─ App Service Authentication                modules/auth.bicep
//   └─ the deployer's data role                  modules/deployer-access.bicep
//
// Parameters come from main.parameters.json, which reads the azd environment
// (`azd env set NAME VALUE`).

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; part of every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of all resources; it must offer the Flex Consumption plan.')
param location string

@description('Resource group name; empty for rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object ID of the person or service principal running azd (AZURE_PRINCIPAL_ID). It gets Key Vault Secrets Officer on the vault to store the client secret, and Storage Blob Data Contributor on the feeds container for `learncal feed push`, and, with deployerIsAdmin, the console\'s Admin role and Storage Table Data Contributor for the CLI; empty to skip.')
param deployerPrincipalId string = ''

@description('How the app is limited to the organizer mailbox: rbacForApplications (recommended), applicationAccessPolicy (legacy) or none.')
@allowed([
  'rbacForApplications'
  'applicationAccessPolicy'
  'none'
])
param mailboxRestriction string = 'rbacForApplications'

@description('secret: client secret in Key Vault; federated: the managed identity is the app registration\'s credential (no secret).')
@allowed([
  'secret'
  'federated'
])
param authMode string = 'secret'

@description('Client ID of an app registration made by hand; empty to create it here with graph-app.bicep.')
param existingClientId string = ''

@description('LEARNCAL_TENANT_ID when the Microsoft 365 tenant is not the tenant of the Azure subscription (then also set existingClientId to an app registered in that tenant); empty for the subscription\'s tenant.')
param microsoft365TenantId string = ''

@description('Tenant-unique key of the app registration; empty for learning-calendar-sync-<environmentName>.')
param appUniqueName string = ''

@description('Display name of the app registration.')
param appDisplayName string = 'Learning Calendar Sync'

@description('LEARNCAL_ORGANIZER: the mailbox that organizes every invitation, e.g. learning.coordinator@contoso.com.')
param organizer string = ''

@description('LEARNCAL_ORGANIZERS: comma-separated organizer pool (each offering is pinned to one mailbox); empty for the single LEARNCAL_ORGANIZER.')
param organizers string = ''

@description('LEARNCAL_STATUS until a provider configuration is saved.')
@allowed([
  'active'
  'inactive'
])
param status string = 'active'

@description('LEARNCAL_FEED: where the learning feed is read; blob:feeds is the newest complete feed in the feed drop (the feeds container).')
param feed string = 'blob:feeds'

@description('LEARNCAL_FEED_KEEP_DAYS: days earlier feeds are kept in the feed drop; the lifecycle policy deletes what is left a week later.')
param feedKeepDays string = '30'

@description('LEARNCAL_RESPONSE_KEEP_DAYS: days attendees\' responses are kept after their invitation is no longer live.')
param responseKeepDays string = '30'

@description('LEARNCAL_RESPONSE_WEBHOOK_URL: https URL each response change is posted to, signed with the Key Vault secret learncal-response-webhook-secret; empty for none.')
param responseWebhookUrl string = ''

@description('LEARNCAL_ALERT_DECLINED_INSTRUCTOR: raise an alert when an instructor declines a session.')
@allowed([
  'true'
  'false'
])
param alertDeclinedInstructor string = 'true'

@description('LEARNCAL_REQUEST_RESPONSES: invitations ask for a response and responses are collected (a saved provider configuration\'s requestResponses wins).')
@allowed([
  'true'
  'false'
])
param requestResponses string = 'false'

@description('LEARNCAL_PUBLIC_URL: the function app\'s public https address, where Graph delivers change notifications; empty: https://<function app name>.azurewebsites.net.')
param publicUrl string = ''

@description('SFTP delivery (for BI Publisher and other report schedulers): a separate storage account with hierarchical namespace and SFTP holds the feed drop, with a local user limited to its feeds container.')
param feedSftp bool = false

@description('OpenSSH public key of the SFTP client (one line); empty for an Azure-generated password made on request (docs/setup.md). Only with feedSftp.')
param feedSftpPublicKey string = ''

@description('Name of the SFTP local user.')
param feedSftpUserName string = 'feeddrop'

@description('LEARNCAL_FEED_CSV_MAPPING: path of the mapping file that adapts a CSV export (columns, dates, words); empty reads the documented CSV format.')
param feedCsvMapping string = ''

@description('LEARNCAL_RECIPIENT_ALLOWLIST: comma-separated addresses and @domain entries; when set, nobody else is invited.')
param recipientAllowlist string = ''

@description('LEARNCAL_SEND_PER_MINUTE: messages the organizer may send per minute.')
param sendPerMinute string = '30'

@description('LEARNCAL_SEND_PER_DAY: recipients the organizer may send to per rolling day.')
param sendPerDay string = '10000'

@description('LEARNCAL_RUN_SECONDS: time budget of one run in seconds.')
param runSeconds string = '540'

@description('LEARNCAL_SEND_SLICE_SECONDS: time slice of one send-worker invocation in seconds (at most 1740, below functionTimeout).')
param sendSliceSeconds string = '1500'

@description('LEARNCAL_MASS_CANCEL_MIN: cancellations from which the guard may stop a run.')
param massCancelMin string = '10'

@description('LEARNCAL_MASS_CANCEL_RATIO: share of live invitations above which the guard stops a run.')
param massCancelRatio string = '0.2'

@description('LEARNCAL_MASS_CANCEL_MAX: cancellations above which the guard stops a run whatever the share.')
param massCancelMax string = '500'

@description('LEARNCAL_ALLOW_MASS_CANCEL: a one-shot allowance (number of cancellations), read once by the next run; empty for none.')
param allowMassCancel string = ''

@description('LEARNCAL_SYNC_SCHEDULE: six-field NCRONTAB schedule of the sync timer, in UTC; empty for hourly.')
param syncSchedule string = '0 0 * * * *'

@description('LEARNCAL_CLIENT_SECRET_NAME: name of the client secret in Key Vault.')
param clientSecretName string = 'graph-client-secret'

@description('Let the console and PUT /api/provider save or rotate the client secret (secret mode): the function app\'s identity gets Key Vault Secrets Officer on that one secret (clientSecretName), never on the vault. The secret must exist first (infra/scripts/create-client-secret.sh after the first provision). Off: the function app only reads secrets.')
param allowConsoleSecretWrite bool = false

@description('LEARNCAL_GRAPH_URL: Microsoft Graph base URL; empty for the global service.')
param graphUrl string = 'https://graph.microsoft.com/v1.0'

@description('LEARNCAL_AUTHORITY_URL: Microsoft identity platform authority host; empty for the global service.')
param authorityUrl string = 'https://login.microsoftonline.com'

@description('LEARNCAL_TABLE_PREFIX: prefix of the table and queue names, so installations can share a storage account.')
@minLength(1)
@maxLength(40)
param tablePrefix string = 'Learncal'

@description('Storage redundancy of the state and host storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_GRS'

@description('How App Service Authentication signs in as the sign-in app: managedIdentity (a managed identity as federated credential, no secret) or keyVaultSecret (a client secret you store in the Key Vault as signInSecretName).')
@allowed([
  'managedIdentity'
  'keyVaultSecret'
])
param signInCredential string = 'managedIdentity'

@description('Key Vault secret holding the sign-in app\'s client secret (signInCredential keyVaultSecret only).')
param signInSecretName string = 'signin-client-secret'

@description('Client ID of a sign-in app registration made by hand; empty to create it here with signin-app.bicep.')
param existingSignInClientId string = ''

@description('Application ID URI of that hand-made sign-in app (a token audience); empty for api://<client id>.')
param existingSignInIdentifierUri string = ''

@description('Give the deployer (deployerPrincipalId) the LearningCalendar.Admin role and Storage Table Data Contributor, so they can use the console and the learncal CLI against the deployed tables.')
param deployerIsAdmin bool = true

@description('E-mail address that receives the alerts (failed runs, rejected feed items, no successful run, mass-cancellation guard, expiring client secret).')
param alertEmail string

@description('Hours without a successful run, once a feed has been applied, before the no-success alert fires (2-47).')
@minValue(2)
@maxValue(47)
param alertNoSuccessHours int = 6

@description('Days a deleted Key Vault stays recoverable (7-90); its name stays reserved that long.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var createAppRegistration = empty(existingClientId)
var graphTenantId = empty(microsoft365TenantId) ? tenant().tenantId : microsoft365TenantId
// main.parameters.json passes an empty string when the azd environment has no value.
var effectiveSyncSchedule = empty(syncSchedule) ? '0 0 * * * *' : syncSchedule
var effectiveGraphUrl = empty(graphUrl) ? 'https://graph.microsoft.com/v1.0' : graphUrl
var effectiveAuthorityUrl = empty(authorityUrl) ? 'https://login.microsoftonline.com' : authorityUrl
var effectiveFeedKeepDays = empty(feedKeepDays) ? '30' : feedKeepDays
var effectiveResponseKeepDays = empty(responseKeepDays) ? '30' : responseKeepDays
var uniqueAppName = empty(appUniqueName) ? 'learning-calendar-sync-${environmentName}' : appUniqueName
var storageAccountName = 'st${resourceToken}'
var sftpStorageAccountName = 'stsftp${resourceToken}'
// The feed drop lives on the app's own account, or on the SFTP account when SFTP delivery is on.
var feedStorageAccountName = feedSftp ? sftpStorageAccountName : storageAccountName
var feedContainerName = 'feeds'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: 'alert-${resourceToken}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
    alertEmail: alertEmail
    noSuccessHours: alertNoSuccessHours
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    skuName: storageSkuName
    // the queues the product sends to and the triggers read (LEARNCAL_SEND_QUEUE and so on in
    // modules/function-app.bicep): named after the table prefix, as shared/queue/names.py names them
    queueNames: [
      '${toLower(tablePrefix)}-send'
      '${toLower(tablePrefix)}-runs'
      '${toLower(tablePrefix)}-jobs'
      '${toLower(tablePrefix)}-webhooks'
      '${toLower(tablePrefix)}-responses'
    ]
  }
}

module sftpStorage 'modules/sftp-storage.bicep' = if (feedSftp) {
  name: 'sftp-storage'
  scope: rg
  params: {
    name: sftpStorageAccountName
    location: location
    tags: tags
  }
}

module feedDrop 'modules/feed-drop.bicep' = {
  name: 'feed-drop'
  scope: rg
  dependsOn: [
    storage
    sftpStorage
  ]
  params: {
    storageAccountName: feedStorageAccountName
    location: location
    tags: tags
    containerName: feedContainerName
    systemTopicName: 'evgt-${feedStorageAccountName}'
    keepDays: int(effectiveFeedKeepDays)
    identityPrincipalId: identity.outputs.principalId
    grantIdentityRoles: feedSftp
    deployerPrincipalId: deployerPrincipalId
    sftpEnabled: feedSftp
    sftpUserName: feedSftpUserName
    sftpPublicKey: feedSftpPublicKey
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: deployerPrincipalId
  }
}

module consoleSecretWrite 'modules/console-secret-write.bicep' = if (allowConsoleSecretWrite && authMode == 'secret') {
  name: 'console-secret-write'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    keyVaultName: keyVault.outputs.name
    clientSecretName: clientSecretName
  }
}

module graphApp 'graph-app.bicep' = if (createAppRegistration) {
  name: 'graph-app'
  scope: rg
  params: {
    appUniqueName: uniqueAppName
    appDisplayName: appDisplayName
    mailboxRestriction: mailboxRestriction
    authMode: authMode
    managedIdentityPrincipalId: identity.outputs.principalId
  }
}

var clientId = createAppRegistration ? graphApp.outputs.clientId : existingClientId
var useSignInIdentity = signInCredential == 'managedIdentity'
var createSignInApp = empty(existingSignInClientId)

// Assigned only to the function app: App Service Authentication signs in with it as the sign-in
// app's federated credential (learn.microsoft.com/azure/app-service/configure-authentication-provider-aad,
// "Use a managed identity instead of a secret").
module authIdentity 'modules/identity.bicep' = if (useSignInIdentity) {
  name: 'auth-identity'
  scope: rg
  params: {
    name: 'id-auth-${resourceToken}'
    location: location
    tags: tags
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  dependsOn: [
    rbac
  ]
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    feedBlobEndpoint: feedDrop.outputs.blobEndpoint
    feedQueueEndpoint: feedDrop.outputs.queueEndpoint
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    tenantId: graphTenantId
    clientId: clientId
    keyVaultUrl: keyVault.outputs.uri
    clientSecretName: clientSecretName
    authMode: authMode
    organizer: organizer
    organizers: organizers
    status: status
    feed: feed
    feedCsvMapping: feedCsvMapping
    feedKeepDays: effectiveFeedKeepDays
    responseKeepDays: effectiveResponseKeepDays
    responseWebhookUrl: responseWebhookUrl
    alertDeclinedInstructor: alertDeclinedInstructor
    requestResponses: requestResponses
    publicUrl: publicUrl
    recipientAllowlist: recipientAllowlist
    sendPerMinute: sendPerMinute
    sendPerDay: sendPerDay
    runSeconds: runSeconds
    sendSliceSeconds: sendSliceSeconds
    massCancelMin: massCancelMin
    massCancelRatio: massCancelRatio
    massCancelMax: massCancelMax
    allowMassCancel: allowMassCancel
    syncSchedule: effectiveSyncSchedule
    graphUrl: effectiveGraphUrl
    authorityUrl: effectiveAuthorityUrl
    tablePrefix: tablePrefix
    authIdentityId: useSignInIdentity ? authIdentity.outputs.id : ''
    authIdentityClientId: useSignInIdentity ? authIdentity.outputs.clientId : ''
    signInSecretReference: useSignInIdentity ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${signInSecretName})'
  }
}

module signInApp 'signin-app.bicep' = if (createSignInApp) {
  name: 'signin-app'
  scope: rg
  params: {
    appUniqueName: '${uniqueAppName}-signin'
    appDisplayName: '${appDisplayName} console'
    hostName: functionApp.outputs.defaultHostName
    authIdentityPrincipalId: useSignInIdentity ? authIdentity.outputs.principalId : ''
    adminPrincipalId: deployerIsAdmin ? deployerPrincipalId : ''
  }
}

var signInClientId = createSignInApp ? signInApp.outputs.clientId : existingSignInClientId
var signInIdentifierUri = createSignInApp ? signInApp.outputs.identifierUri : (empty(existingSignInIdentifierUri) ? 'api://${existingSignInClientId}' : existingSignInIdentifierUri)

module auth 'modules/auth.bicep' = {
  name: 'auth'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    clientId: signInClientId
    identifierUri: signInIdentifierUri
    clientSecretSettingName: useSignInIdentity ? 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID' : 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
  }
}

module deployerAccess 'modules/deployer-access.bicep' = if (deployerIsAdmin && !empty(deployerPrincipalId)) {
  name: 'deployer-access'
  scope: rg
  params: {
    deployerPrincipalId: deployerPrincipalId
    storageAccountName: storage.outputs.name
  }
}

// Read by azd (written to .azure/<environment>/.env), the postprovision hook and the scripts.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_APP_SERVICE_PRINCIPAL_ID string = createAppRegistration ? graphApp.outputs.servicePrincipalObjectId : ''
output MAILBOX_RESTRICTION string = mailboxRestriction
output LEARNCAL_TENANT_ID string = graphTenantId
output LEARNCAL_CLIENT_ID string = clientId
output LEARNCAL_KEY_VAULT_URL string = keyVault.outputs.uri
output LEARNCAL_CLIENT_SECRET_NAME string = clientSecretName
output LEARNCAL_AUTH_MODE string = authMode
output LEARNCAL_ORGANIZER string = organizer
// The feed drop, for the postdeploy hook (event subscription), `learncal feed push` and
// `az storage blob upload --auth-mode login`.
output LEARNCAL_FEED string = feed
output LEARNCAL_FEED_STORAGE__blobServiceUri string = feedDrop.outputs.blobEndpoint
output AZURE_FEED_STORAGE_ACCOUNT_NAME string = feedStorageAccountName
output AZURE_FEED_CONTAINER_NAME string = feedDrop.outputs.containerName
output AZURE_FEED_SYSTEM_TOPIC_NAME string = feedDrop.outputs.systemTopicName
output AZURE_FEED_SFTP_ENABLED bool = feedSftp
output AZURE_FEED_SFTP_USER string = feedDrop.outputs.sftpUserName
output AZURE_CONSOLE_URL string = 'https://${functionApp.outputs.defaultHostName}/api/console/'
output AZURE_SIGNIN_CLIENT_ID string = signInClientId
output AZURE_SIGNIN_APP_ID_URI string = signInIdentifierUri
output AZURE_SIGNIN_SERVICE_PRINCIPAL_ID string = createSignInApp ? signInApp.outputs.servicePrincipalObjectId : ''
output AZURE_SIGNIN_ADMIN_ROLE_ID string = createSignInApp ? signInApp.outputs.adminRoleId : ''
output AZURE_SIGNIN_READER_ROLE_ID string = createSignInApp ? signInApp.outputs.readerRoleId : ''
