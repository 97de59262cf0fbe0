'use strict';

// CloudWatch alarms of the stack (serverless.yml `resources`): failed invocations per provider (from
// the functions' RotationFailed metric, which counts every failed invocation), failed Secrets Manager
// rotations per provider, each function's Lambda Errors, requests in the dead-letter queue, failed
// fleet executions. They notify the stage's `alarmTopicArn`, on alarm and back to OK.
//
// Every stage needs a topic, unless its parameters opt out (`alarmTopicOptOut: true`, as `dev`,
// `local` and `ci` do in serverless.yml): a stage's name says nothing reliable about what it rotates
// (`prod`, `prd-eu`, `main`, a typo), and a stage that rotates real clusters with alarms that notify
// nobody is the failure this file exists to prevent. So the check is fail-safe, at package time.
// Without a topic the alarms have no actions at all (not an `Fn::If` on an empty ARN, which
// cfn-lint rejects: E3033) and only change state.

const { FUNCTIONS_BY_PROVIDER, PROVIDERS } = require('./functions.cjs');

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** A boolean parameter as serverless.yml gives it, or as `--param name=true` does (a string). */
const flag = (name, value) => {
  if (value === undefined || value === null || value === '' || value === false || value === 'false')
    return false;
  if (value === true || value === 'true') return true;
  throw new Error(`${name} must be true or false`);
};

/** The stage's alarm topic, or '' when it has opted out of one; else why it cannot package. */
const alarmTopic = async (resolveVariable) => {
  const topicArn = (await resolveVariable('param:alarmTopicArn')) ?? '';
  if (typeof topicArn !== 'string' || (topicArn !== '' && !TOPIC_ARN.test(topicArn))) {
    throw new Error(
      'alarmTopicArn must be empty or an SNS topic ARN, e.g. arn:aws:sns:eu-central-1:123456789012:alarms',
    );
  }
  const optedOut = flag('alarmTopicOptOut', await resolveVariable('param:alarmTopicOptOut'));
  if (topicArn === '' && !optedOut) {
    const stage = await resolveVariable('sls:stage');
    throw new Error(
      `Stage ${stage} has no alarmTopicArn: its alarms would notify nobody. Set one (params.${stage}.alarmTopicArn in serverless.yml, or --param alarmTopicArn=arn:aws:sns:…), or opt the stage out explicitly (--param alarmTopicOptOut=true)`,
    );
  }
  return topicArn;
};

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
  const topicArn = await alarmTopic(resolveVariable);
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const namespace = await resolveVariable('self:provider.environment.POWERTOOLS_METRICS_NAMESPACE');
  const serviceDimension = await resolveVariable('self:provider.environment.POWERTOOLS_SERVICE_NAME');
  const fleetName = await resolveVariable('self:stepFunctions.stateMachines.fleetRotation.name');

  const actions = topicArn === '' ? {} : { AlarmActions: [topicArn], OKActions: [topicArn] };
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
      ...actions,
      ...properties,
    },
  });
  const rotationFailed = (provider, extra = []) => ({
    Namespace: namespace,
    MetricName: 'RotationFailed',
    // The EMF dimension sets of lib/middleware/metrics.ts.
    Dimensions: [
      { Name: 'service', Value: serviceDimension },
      { Name: 'stage', Value: stage },
      { Name: 'provider', Value: provider },
      ...extra,
    ],
    Statistic: 'Sum',
    Period: 300,
  });

  const Resources = {};
  // One per provider: each provider's failures raise and clear their own alarm, so that a second
  // provider failing while the first is still in alarm is notified too.
  for (const provider of PROVIDERS) {
    Resources[`${pascal(provider)}RotationFailedAlarm`] = alarm(
      `${provider}-rotation-failed`,
      `An invocation of the ${provider} function failed, however it was invoked and however early (RotationFailed; its errorCode and invocation dimensions, the outcome events and the function's logs say which and why)`,
      rotationFailed(provider),
    );
    // A failed Secrets Manager rotation leaves AWSPENDING behind and is retried by Secrets Manager
    // alone, on its schedule: nobody else hears of it.
    Resources[`${pascal(provider)}NativeRotationFailedAlarm`] = alarm(
      `${provider}-native-rotation-failed`,
      `A Secrets Manager rotation of a ${provider} secret failed (RotationFailed, invocation rotation): the secret keeps its AWSPENDING version until a rotation succeeds`,
      rotationFailed(provider, [{ Name: 'invocation', Value: 'rotation' }]),
    );
    // What the function's own metrics cannot count: a timeout, a crash, running out of memory, a
    // failure at start; and every error it throws.
    const fn = FUNCTIONS_BY_PROVIDER[provider].function;
    Resources[`${pascal(provider)}FunctionErrorsAlarm`] = alarm(
      `${provider}-function-errors`,
      `The ${provider} function ended in an error (AWS/Lambda Errors: a thrown failure, a timeout, a crash)`,
      {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
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

  return { Resources };
};
