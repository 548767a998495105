// Alerts for the administrator: an action group that e-mails the address given at deployment
// (alertEmail) and log alert rules over the product's own log records in Application Insights.
//
// The product writes one line per event, starting with a stable name and followed by
// key=value fields (shared/monitoring.py), e.g.
//   learncal.run.failed run_id=3f2a9c01b7e4 kind=FeedUnreadable applied=true message="..."
// Each query below selects records by that name and reads fields with extract(). The tests
// (tests/infra/test_infra.py, tests/integration/test_alert_records.py) read these queries and
// check that the timer emits exactly the records they select.
//
// host.json excludes traces from Application Insights sampling, so no record is dropped.
//
// Once per new problem, not every hour:
// - stateful rules (autoMitigate: true) notify when they fire and not again until Azure Monitor
//   resolves them, which happens only after the condition stops holding: a run failing every
//   hour for the same reason notifies once. Failed runs are split by their kind (a dimension),
//   so a different kind of failure is a new alert.
// - rejected feed items: the product logs learncal.feed.rejection.new only for items the
//   previous completed run did not reject (a fingerprint of path and reason), so the rule is
//   stateless (autoMitigate: false) and every notification is about items newly rejected.
// - a declined instructor: the product logs learncal.response.instructor.declined once, when the
//   instructor's answer changes to declined (shared/responses/hooks.py), so this rule is stateless
//   too. LEARNCAL_ALERT_DECLINED_INSTRUCTOR=false stops the records, and with them the alert.

@description('Prefix of the alert resources\' names.')
param namePrefix string

@description('Resource ID of the Application Insights component the function app logs to.')
param applicationInsightsId string

@description('Region of the alert rules (the region of Application Insights).')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('E-mail address that receives the alerts.')
param alertEmail string

@description('Hours without a successful run, once a feed has been applied, before the no-success alert fires (at most 47: the query looks back two days).')
@minValue(2)
@maxValue(47)
param noSuccessHours int = 6

var rules = [
  {
    key: 'run-failed'
    displayName: 'Learning Calendar Sync: a run failed'
    description: 'A sync run failed (the record names the run id, the kind of failure and the message). The mass-cancellation guard has its own alert.'
    severity: 1
    windowSize: 'PT2H'
    overrideQueryTimeRange: ''
    autoMitigate: true
    dimension: 'kind'
    query: 'traces | where message startswith "learncal.run.failed " and message !has "kind=MassCancellationStopped" | extend runId = extract(@"\\brun_id=(\\S+)", 1, message), kind = extract(@"\\bkind=(\\S+)", 1, message) | project timestamp, runId, kind, message'
  }
  {
    key: 'feed-rejections'
    displayName: 'Learning Calendar Sync: the feed has newly rejected items'
    description: 'A run rejected feed items that the previous run did not reject (each record names the run id, the item\'s path in the feed, the reason and its fingerprint).'
    severity: 2
    windowSize: 'PT1H'
    overrideQueryTimeRange: ''
    autoMitigate: false
    dimension: ''
    query: 'traces | where message startswith "learncal.feed.rejection.new " | extend runId = extract(@"\\brun_id=(\\S+)", 1, message), fingerprint = extract(@"\\bfingerprint=(\\S+)", 1, message) | project timestamp, runId, fingerprint, message'
  }
  {
    key: 'run-errors'
    displayName: 'Learning Calendar Sync: invitations could not be applied'
    description: 'A run completed but some invitations were not applied (errors, with the run id and its counts).'
    severity: 2
    windowSize: 'PT2H'
    overrideQueryTimeRange: ''
    autoMitigate: true
    dimension: ''
    query: 'traces | where message startswith "learncal.run.problems " | extend runId = extract(@"\\brun_id=(\\S+)", 1, message), errors = toint(extract(@"\\berrors=(\\S+)", 1, message)) | where errors > 0 | project timestamp, runId, errors, message'
  }
  {
    key: 'no-success'
    displayName: 'Learning Calendar Sync: no successful run'
    description: 'No run has completed for {quietHours} hours although a feed has been applied before (a fresh deployment still waiting for its feed does not count).'
    severity: 1
    windowSize: 'PT1H'
    overrideQueryTimeRange: 'P2D'
    autoMitigate: true
    dimension: ''
    query: 'traces | where message startswith "learncal.run." | extend applied = extract(@"\\bapplied=(\\S+)", 1, message), reason = extract(@"\\breason=(\\S+)", 1, message) | summarize lastHealthy = maxif(timestamp, message startswith "learncal.run.completed " or (message startswith "learncal.run.skipped " and reason == "inactive")), everApplied = countif(applied == "true") | where everApplied > 0 and (isnull(lastHealthy) or lastHealthy < ago({quietHours}h))'
  }
  {
    key: 'mass-cancellation'
    displayName: 'Learning Calendar Sync: the mass-cancellation guard stopped a run'
    description: 'A run would have cancelled an unusual share of invitations and stopped before sending anything; check the feed, then allow the cancellations if intended.'
    severity: 1
    windowSize: 'PT2H'
    overrideQueryTimeRange: ''
    autoMitigate: true
    dimension: ''
    query: 'traces | where message startswith "learncal.guard.tripped " | extend runId = extract(@"\\brun_id=(\\S+)", 1, message) | project timestamp, runId, message'
  }
  {
    key: 'secret-expiring'
    displayName: 'Learning Calendar Sync: the client secret expires soon'
    description: 'The client secret in Key Vault expires within 30 days: run infra/scripts/create-client-secret.sh to create and store a new one.'
    severity: 2
    windowSize: 'PT6H'
    overrideQueryTimeRange: ''
    autoMitigate: true
    dimension: ''
    query: 'traces | where message startswith "learncal.secret.expiring " | extend daysLeft = toint(extract(@"\\bdays_left=(\\S+)", 1, message)) | project timestamp, daysLeft, message'
  }
  {
    key: 'instructor-declined'
    displayName: 'Learning Calendar Sync: an instructor declined a session'
    description: 'An instructor (or primary instructor) declined the meeting of a session (the record names the offering, the session and the instructor). Nothing changes by itself: find a replacement in the learning system.'
    severity: 2
    windowSize: 'PT1H'
    overrideQueryTimeRange: ''
    autoMitigate: false
    dimension: ''
    query: 'traces | where message startswith "learncal.response.instructor.declined " | extend offeringId = extract(@"\\boffering_id=(\\S+)", 1, message), activityId = extract(@"\\bactivity_id=(\\S+)", 1, message), email = extract(@"\\bemail=(\\S+)", 1, message) | project timestamp, offeringId, activityId, email, message'
  }
  {
    key: 'webhook-failed'
    displayName: 'Learning Calendar Sync: response changes could not be posted to the webhook'
    description: 'The response webhook refused or did not answer a change five times; the change waits in the queue learncal-webhooks-poison. Fix the receiver (or LEARNCAL_RESPONSE_WEBHOOK_URL), then move the messages back to learncal-webhooks.'
    severity: 2
    windowSize: 'PT1H'
    overrideQueryTimeRange: ''
    autoMitigate: true
    dimension: ''
    query: 'traces | where message startswith "learncal.webhook.failed " and message has "final=true" | extend delivery = extract(@"\\bdelivery=(\\S+)", 1, message) | project timestamp, delivery, message'
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-admin'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'learncal'
    enabled: true
    emailReceivers: [
      {
        name: 'administrator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: '${namePrefix}-${rule.key}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: replace(rule.description, '{quietHours}', string(noSuccessHours))
    severity: rule.severity
    enabled: true
    evaluationFrequency: 'PT1H'
    windowSize: rule.windowSize
    overrideQueryTimeRange: empty(rule.overrideQueryTimeRange) ? null : rule.overrideQueryTimeRange
    scopes: [
      applicationInsightsId
    ]
    criteria: {
      allOf: [
        {
          query: replace(rule.query, '{quietHours}', string(noSuccessHours))
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: empty(rule.dimension) ? [] : [
            {
              name: rule.dimension
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: rule.autoMitigate
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (rule, i) in rules: alertRules[i].name]
