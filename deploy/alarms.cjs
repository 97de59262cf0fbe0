'use strict';

// CloudWatch alarms of the stack (serverless.yml `resources`): failed rotations per provider (from
// the functions' RotationFailed metric), requests in the dead-letter queue, failed fleet
// executions. They notify the stage's `alarmTopicArn` when one is set; without one they only change
// state (a CloudFormation condition), so that a deploy needs no topic.

const { PROVIDERS } = require('./functions.cjs');

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const CONDITION = 'AlarmTopicGiven';

/** `ncloud-cdss` → `NcloudCdss`. */
const pascal = (id) =>
  id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** serverless-step-functions' logical id of a state machine with a `name` (its naming.js). */
const stateMachineLogicalId = (name) => {
  const normalized = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return normalized.charAt(0).toUpperCase() + normalized.slice(1);
};

module.exports = async ({ resolveVariable }) => {
  const topicArn = (await resolveVariable('param:alarmTopicArn')) ?? '';
  if (typeof topicArn !== 'string' || (topicArn !== '' && !TOPIC_ARN.test(topicArn))) {
    throw new Error(
      'alarmTopicArn must be empty or an SNS topic ARN, e.g. arn:aws:sns:eu-central-1:123456789012:alarms',
    );
  }
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const namespace = await resolveVariable('self:provider.environment.POWERTOOLS_METRICS_NAMESPACE');
  const serviceDimension = await resolveVariable('self:provider.environment.POWERTOOLS_SERVICE_NAME');
  const fleetName = await resolveVariable('self:stepFunctions.stateMachines.fleetRotation.name');

  const actions = { 'Fn::If': [CONDITION, [topicArn], { Ref: 'AWS::NoValue' }] };
  const alarm = (name, description, properties) => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${service}-${stage}-${name}`,
      AlarmDescription: description,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      // No data is the normal case: no rotation, an empty queue, no execution.
      TreatMissingData: 'notBreaching',
      AlarmActions: actions,
      OKActions: actions,
      ...properties,
    },
  });

  const Resources = {};
  // One per provider: each provider's failures raise and clear their own alarm, so that a second
  // provider failing while the first is still in alarm is notified too.
  for (const provider of PROVIDERS) {
    Resources[`${pascal(provider)}RotationFailedAlarm`] = alarm(
      `${provider}-rotation-failed`,
      `A password rotation of ${provider} failed (RotationFailed; the outcome events and the function's logs say which cluster and why)`,
      {
        Namespace: namespace,
        MetricName: 'RotationFailed',
        Dimensions: [
          { Name: 'service', Value: serviceDimension },
          { Name: 'stage', Value: stage },
          { Name: 'provider', Value: provider },
        ],
        Statistic: 'Sum',
        Period: 300,
      },
    );
  }
  Resources.FailedRequestsAlarm = alarm(
    'failed-requests',
    'Asynchronous requests (EventBridge rules, schedules) failed all their attempts and wait in the dead-letter queue',
    {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['FailedRequestsQueue', 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
    },
  );
  // Failed or timed out; not aborted, which someone did on purpose. A target's failure does not
  // fail the execution (it is in the summary, and in RotationFailed): this is the machine's own.
  const fleetMetric = (id, metricName) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/States',
        MetricName: metricName,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineLogicalId(fleetName) } }],
      },
      Period: 300,
      Stat: 'Sum',
    },
  });
  Resources.FleetRotationFailedAlarm = alarm(
    'fleet-rotation-failed',
    'A fleet rotation execution failed or timed out (AWS/States ExecutionsFailed + ExecutionsTimedOut)',
    {
      Metrics: [
        fleetMetric('failed', 'ExecutionsFailed'),
        fleetMetric('timedOut', 'ExecutionsTimedOut'),
        {
          Id: 'failedOrTimedOut',
          Label: 'Fleet executions failed or timed out',
          Expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
          ReturnData: true,
        },
      ],
    },
  );

  return {
    Conditions: { [CONDITION]: { 'Fn::Not': [{ 'Fn::Equals': [topicArn, ''] }] } },
    Resources,
  };
};
