// The sign-in app registration of the console and the admin API (Microsoft Graph Bicep extension).
//
// App Service Authentication signs administrators in with this application and validates the
// Microsoft Entra tokens automation presents (modules/auth.bicep). It is a registration of its
// own, apart from the app that calls Microsoft Graph (graph-app.bicep): it holds no Graph
// application permission, and its app roles say who may use the console and the API:
//   LearningCalendar.Admin   everything
//   LearningCalendar.Reader  runs, offerings, audit trail, feeds and responses, read only.
//                            Readers see learners' e-mail addresses (the mapping, run details).
// Users and groups get the roles in the enterprise application; automation gets them as
// application permissions (client credentials). Only assigned principals can sign in
// (appRoleAssignmentRequired).
//
// No client secret: a user-assigned managed identity, assigned only to the function app, is the
// application's federated identity credential, and the function app's setting
// OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID names it ("Use a managed identity instead of a secret",
// learn.microsoft.com/azure/app-service/configure-authentication-provider-aad).
// Deploying needs Application Administrator or Cloud Application Administrator; assigning the
// deployer the Admin role needs the right to assign app roles (owner of the app, or one of those).

extension microsoftGraphV1

@description('Tenant-unique key of the sign-in application (makes redeployments update the same app).')
param appUniqueName string

@description('Display name of the sign-in application.')
param appDisplayName string

@description('Default host name of the function app (the redirect URI is https://<host>/.auth/login/aad/callback).')
param hostName string

@description('Principal (object) ID of the managed identity that signs in as this application (its federated credential); empty when App Service Authentication uses a Key Vault secret instead.')
param authIdentityPrincipalId string

@description('Object ID of a user or service principal to make LearningCalendar.Admin; empty for nobody.')
param adminPrincipalId string = ''

@description('Tenant of the managed identity token issuer.')
param tenantId string = tenant().tenantId

var adminRoleId = guid(appUniqueName, 'LearningCalendar.Admin')
var readerRoleId = guid(appUniqueName, 'LearningCalendar.Reader')
var graphAppId = '00000003-0000-0000-c000-000000000000'
var userReadScopeId = 'e1fe6dd8-ba31-4d61-89e7-88639da4683d' // delegated User.Read: sign in and read the profile
var identifierUri = 'api://${tenantId}/${appUniqueName}'

resource signInApplication 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: appUniqueName
  displayName: appDisplayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [
    identifierUri
  ]
  notes: 'Sign-in of the Learning Calendar Sync console and admin API (App Service Authentication). Holds no Microsoft Graph application permission. LearningCalendar.Reader can read learners\' e-mail addresses.'
  web: {
    redirectUris: [
      'https://${hostName}/.auth/login/aad/callback'
    ]
    implicitGrantSettings: {
      enableIdTokenIssuance: true
      enableAccessTokenIssuance: false
    }
  }
  appRoles: [
    {
      id: adminRoleId
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      displayName: 'Learning Calendar administrator'
      description: 'Everything in the console and the admin API: change the provider and its secret, validate, reconcile offerings, start runs, give the mass-cancellation allowance, upload feeds, clear the queue. Sees learners\' e-mail addresses.'
      value: 'LearningCalendar.Admin'
      isEnabled: true
    }
    {
      id: readerRoleId
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      displayName: 'Learning Calendar reader'
      description: 'Read only: runs, offerings and who holds which meeting, the audit trail, feeds and responses. Sees learners\' e-mail addresses.'
      value: 'LearningCalendar.Reader'
      isEnabled: true
    }
  ]
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: [
        {
          id: userReadScopeId
          type: 'Scope'
        }
      ]
    }
  ]

  // No secret: the managed identity's tokens are accepted as this application's credential.
  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = if (!empty(authIdentityPrincipalId)) {
    name: '${signInApplication.uniqueName}/app-service-authentication'
    description: 'App Service Authentication of the function app signs in with its dedicated managed identity.'
    audiences: [
      'api://AzureADTokenExchange'
    ]
    issuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
    subject: authIdentityPrincipalId
  }
}

resource signInServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: signInApplication.appId
  appRoleAssignmentRequired: true // only people and apps given a role get a token for the console and the API
}

// The deployer can open the console right after `azd up`.
resource deployerIsAdmin 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (!empty(adminPrincipalId)) {
  appRoleId: adminRoleId
  principalId: adminPrincipalId
  resourceId: signInServicePrincipal.id
}

output clientId string = signInApplication.appId
output identifierUri string = identifierUri
output servicePrincipalObjectId string = signInServicePrincipal.id
output adminRoleId string = adminRoleId
output readerRoleId string = readerRoleId
