'use strict';

// CloudFormation for the stage's `scheduledRotations` (serverless.yml params): one EventBridge
// schedule per entry, invoking the provider's handler with the entry's envelope. serverless.yml
// cannot loop, so this small generator does; an empty list yields no resources. A schedule is a
// rule of the default bus (EventBridge runs schedules there only) that targets the function
// directly: it neither needs nor uses the request bus, and its input comes from the stack alone.

const { PROVIDERS, functionsOf } = require('./functions.cjs');
const { listParam } = require('./params.cjs');

const fail = (index, problem) => {
  throw new Error(`scheduledRotations[${index}] ${problem}`);
};

module.exports = async ({ resolveVariable }) => {
  const rotations = listParam('scheduledRotations', await resolveVariable('param:scheduledRotations'), {
    what: 'a list of { schedule, target }',
    example:
      '[{"schedule":"rate(30 days)","target":{"provider":"otc-css","region":"eu-de","clusterId":"…"}}]',
  });
  const Resources = {};
  rotations.forEach((entry, index) => {
    const { schedule, target } = entry ?? {};
    if (typeof schedule !== 'string' || !/^(rate|cron)\(.+\)$/.test(schedule)) {
      fail(index, 'needs a schedule such as "rate(30 days)" or "cron(0 3 1 * ? *)"');
    }
    if (target === null || typeof target !== 'object') fail(index, 'needs a target envelope');
    const fn = functionsOf(target.provider)?.function;
    if (!fn) fail(index, `has an unknown provider (use ${PROVIDERS.join(', ')})`);
    // Rule inputs are stored in plain text: a password never goes there; one is generated.
    if ('password' in target)
      fail(index, 'must not hold a password: a password is generated for scheduled rotations');
    if ('idempotencyKey' in target)
      fail(index, 'must not hold an idempotencyKey: each run uses its event id');
    const rule = `ScheduledRotation${index}Rule`;
    // The event id becomes the idempotency key, so Lambda's own retries of one run converge.
    const envelope = JSON.stringify(target);
    Resources[rule] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `Rotate the ${target.provider} password of cluster ${target.clusterId} (${target.region})`,
        ScheduleExpression: schedule,
        State: 'ENABLED',
        Targets: [
          {
            Id: 'rotate',
            Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
            InputTransformer: {
              InputPathsMap: { eventId: '$.id' },
              InputTemplate: `${envelope.slice(0, -1)}${envelope.length > 2 ? ',' : ''}"idempotencyKey": <eventId>}`,
            },
          },
        ],
      },
    };
    Resources[`ScheduledRotation${index}Permission`] = {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
      },
    };
  });
  return { Resources };
};
