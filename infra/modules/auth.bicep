// App Service Authentication (Easy Auth) for the function app, with Microsoft Entra ID.
//
// Every request must be signed in ("Configure Microsoft Entra authentication",
// learn.microsoft.com/azure/app-service/configure-authentication-provider-aad; the
// authsettingsV2 reference, learn.microsoft.com/azure/templates/microsoft.web/sites/config-authsettingsv2):
// people through the browser (redirected to the Microsoft sign-in page), automation with a
// client-credentials bearer token for the sign-in app. The platform passes the caller's claims to
// the code in X-MS-CLIENT-PRINCIPAL, and the code checks the app role (shared/admin/auth.py:
// the platform itself does not check roles).
//
// Excluded paths are callers that cannot sign in and authenticate themselves
// (globalValidation.excludedPaths; "File-based configuration in Azure App Service authentication",
// learn.microsoft.com/azure/app-service/configure-authentication-file-based):
//   /api/health              status only, nothing secret
//   /runtime/webhooks/blobs  the Event Grid webhook of the blob trigger (its blobs_extension key)
//   /api/notifications       Graph change notifications (client state and validation handshake)
//   /api/notifications/lifecycle  Graph lifecycle notifications (the same checks)

@description('Name of the function app.')
param functionAppName string

@description('Application (client) ID of the sign-in app registration (signin-app.bicep).')
param clientId string

@description('Application ID URI of the sign-in app, accepted as a token audience.')
param identifierUri string

@description('Tenant of the sign-in app registration.')
param tenantId string = tenant().tenantId

@description('App setting that holds the client credential: OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID (a managed identity as federated credential, no secret), or the name of a setting holding a Key Vault reference to a client secret.')
param clientSecretSettingName string = 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID'

@description('Paths App Service Authentication lets through unauthenticated; each authenticates its callers itself.')
param excludedPaths array = [
  '/api/health'
  '/runtime/webhooks/blobs'
  '/api/notifications'
  '/api/notifications/lifecycle'
]

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads this configuration child as a web app of its own; the site's checks apply to function-app.bicep.
  // checkov:skip=CKV_AZURE_13: this resource is the App Service Authentication it asks for (authsettingsV2, enabled).
  // checkov:skip=CKV_AZURE_222: a property of the site (function-app.bicep gives the reason), not of its auth settings.
  // checkov:skip=CKV_AZURE_63: HTTP logging is a site setting, not an auth setting; the app logs to Application Insights.
  // checkov:skip=CKV_AZURE_65: detailed error pages are a site setting; errors are problem+json from the code.
  // checkov:skip=CKV_AZURE_66: failed request tracing is a site setting; failures are traced in Application Insights.
  // checkov:skip=CKV_AZURE_80: .NET Framework version does not apply (Python on Linux, and not an auth setting).
  // checkov:skip=CKV_AZURE_88: Azure Files is a site setting; the app keeps its state in Table Storage.
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: excludedPaths
    }
    httpSettings: {
      requireHttps: true
      routes: {
        apiPrefix: '/.auth'
      }
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
          clientId: clientId
          clientSecretSettingName: clientSecretSettingName
        }
        validation: {
          // v1 tokens (az account get-access-token --resource) carry the identifier URI, v2 the client ID
          allowedAudiences: [
            identifierUri
            clientId
            'api://${clientId}'
          ]
        }
        login: {
          disableWWWAuthenticate: false
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false // the app reads no provider token; the session cookie is enough
      }
      preserveUrlFragmentsForLogins: true
    }
  }
}

output excludedPaths array = excludedPaths
