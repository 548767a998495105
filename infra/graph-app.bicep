// The app registration as code (Microsoft Graph Bicep extension): the application, its
// service principal, the Microsoft Graph application permissions granted to it (admin
// consent as code), and, in federated mode, the user-assigned managed identity as the
// app's federated credential (no client secret).
//
// Kept apart from the Azure resources: only this file uses the `extension` statement.
// Deploying it needs Microsoft Entra rights: Application Administrator or Cloud Application
// Administrator for the application, and Privileged Role Administrator or Global
// Administrator for the application permission grants (appRoleAssignedTo).

extension microsoftGraphV1

@description('Tenant-unique key of the application (client-provided; makes redeployments update the same app).')
param appUniqueName string

@description('Display name of the application.')
param appDisplayName string

@description('How the app is limited to the organizer mailbox. rbacForApplications (recommended): Exchange RBAC for Applications grants Calendars.ReadWrite for the organizer only, so Calendars.ReadWrite is NOT granted in Microsoft Entra (grants add up). applicationAccessPolicy (legacy) and none: Calendars.ReadWrite is granted tenant-wide in Microsoft Entra; applicationAccessPolicy then narrows it in Exchange.')
@allowed([
  'rbacForApplications'
  'applicationAccessPolicy'
  'none'
])
param mailboxRestriction string = 'rbacForApplications'

@description('secret: the app signs in with a client secret kept in Key Vault. federated: the user-assigned managed identity is the app\'s federated credential.')
@allowed([
  'secret'
  'federated'
])
param authMode string = 'secret'

@description('Principal (object) ID of the user-assigned managed identity (the federated credential\'s subject).')
param managedIdentityPrincipalId string

@description('Tenant of the managed identity token issuer.')
param tenantId string = tenant().tenantId

// Microsoft Graph's appId and the ids of its application permissions (app roles).
var graphAppId = '00000003-0000-0000-c000-000000000000'
var userReadAllRoleId = 'df021288-bdef-4463-88db-98f22de89214'
var calendarsReadWriteRoleId = 'ef54d2bf-783f-4e0f-bca1-3210c0444d99'

var grantCalendarsInEntra = mailboxRestriction != 'rbacForApplications'

var userReadAllAccess = [
  {
    id: userReadAllRoleId
    type: 'Role'
  }
]
var calendarsReadWriteAccess = [
  {
    id: calendarsReadWriteRoleId
    type: 'Role'
  }
]

resource graphServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: appUniqueName
  displayName: appDisplayName
  signInAudience: 'AzureADMyOrg'
  // Sign-in to the console and the admin API moved to an app registration of its own
  // (signin-app.bicep). This role stays declared but disabled: Microsoft Entra deletes an app
  // role only once it is disabled, and nothing signs in with this app any more.
  appRoles: [
    {
      id: guid(appUniqueName, 'LearningCalendar.Admin')
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      displayName: 'Learning Calendar administrator (moved)'
      description: 'No longer used: the console and the admin API use the roles of the sign-in app registration.'
      value: 'LearningCalendar.Admin'
      isEnabled: false
    }
  ]
  notes: 'Sends Outlook meeting invitations for instructor-led training from one organizer mailbox. Application permissions: User.Read.All; Calendars.ReadWrite (granted in Microsoft Entra, or scoped to the organizer mailbox by Exchange RBAC for Applications).'
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: grantCalendarsInEntra ? concat(userReadAllAccess, calendarsReadWriteAccess) : userReadAllAccess
    }
  ]

  // Secretless mode: tokens of the user-assigned managed identity are accepted as this app's credential.
  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = if (authMode == 'federated') {
    name: '${application.uniqueName}/function-app-managed-identity'
    description: 'The function app\'s user-assigned managed identity signs in as this application.'
    audiences: [
      'api://AzureADTokenExchange'
    ]
    issuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
    subject: managedIdentityPrincipalId
  }
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
}

// Admin consent as code: application permission User.Read.All on Microsoft Graph.
resource userReadAllGrant 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: userReadAllRoleId
  principalId: servicePrincipal.id
  resourceId: graphServicePrincipal.id
}

// Admin consent as code: application permission Calendars.ReadWrite on Microsoft Graph,
// only when Exchange RBAC for Applications does not grant it for the organizer mailbox.
resource calendarsReadWriteGrant 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (grantCalendarsInEntra) {
  appRoleId: calendarsReadWriteRoleId
  principalId: servicePrincipal.id
  resourceId: graphServicePrincipal.id
}

output clientId string = application.appId
output applicationObjectId string = application.id
output servicePrincipalObjectId string = servicePrincipal.id
output displayName string = application.displayName
