'use strict';

// CloudFormation for the stage's `rotationSchedules` (serverless.yml params): one Secrets Manager
// native rotation schedule per entry, with the provider's handler as the secret's rotation function
// (Secrets Manager invokes it with createSecret, setSecret, testSecret and finishSecret). The
// provider is read from the secret's name, `<secretPrefix>/<provider>/<region>/<clusterId>`, so a
// secret is only ever rotated by the handler whose role reaches it. serverless.yml cannot loop, so
// this small generator does; an empty list yields no resources.
//
// The secret must already exist: the project's first rotation of the cluster creates it (through
// the API, an EventBridge request or scheduledRotations); a schedule cannot create it.

const { createHash } = require('node:crypto');
const { PROVIDERS, functionsOf } = require('./functions.cjs');
const { listParam } = require('./params.cjs');

const KEYS = ['secretId', 'schedule', 'duration', 'rotateImmediately'];
/** The characters Secrets Manager allows in a secret's name. */
const SEGMENT = /^[A-Za-z0-9_+=.@-]+$/;

const fail = (index, problem) => {
  throw new Error(`rotationSchedules[${index}] ${problem}`);
};

/**
 * The entry's logical id, from its secret's name rather than its place in the list: reordering the
 * list must not replace a schedule, since deleting the replaced one would cancel the rotation of a
 * secret that another entry now schedules.
 */
const logicalId = (secretId) =>
  `SecretRotation${createHash('sha256').update(secretId).digest('hex').slice(0, 16).toUpperCase()}`;

module.exports = async ({ resolveVariable }) => {
  const schedules = listParam('rotationSchedules', await resolveVariable('param:rotationSchedules'), {
    what: 'a list of { secretId, schedule, duration?, rotateImmediately? }',
    example: '[{"secretId":"cluster-password-reset/prod/otc-css/eu-de/…","schedule":"rate(30 days)"}]',
  });
  const prefix = await resolveVariable('param:secretPrefix');
  if (typeof prefix !== 'string' || prefix === '')
    throw new Error('rotationSchedules needs param:secretPrefix');
  const Resources = {};
  schedules.forEach((entry, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      fail(index, 'must be an object such as { secretId: "…", schedule: "rate(30 days)" }');
    }
    const unknown = Object.keys(entry).filter((key) => !KEYS.includes(key));
    if (unknown.length > 0) fail(index, `has unknown keys ${unknown.join(', ')} (use ${KEYS.join(', ')})`);
    const { secretId, schedule, duration, rotateImmediately } = entry;

    const name = `the secret name <secretPrefix>/<provider>/<region>/<clusterId>, under ${prefix}/`;
    if (typeof secretId !== 'string') fail(index, `needs a secretId, ${name}`);
    if (!secretId.startsWith(`${prefix}/`)) fail(index, `secretId ${secretId} is not ${name}`);
    const segments = secretId.slice(prefix.length + 1).split('/');
    const [provider] = segments;
    const functions = functionsOf(provider);
    if (!functions) fail(index, `secretId ${secretId} has an unknown provider (use ${PROVIDERS.join(', ')})`);
    if (segments.length !== 3 || !segments.every((segment) => SEGMENT.test(segment))) {
      fail(index, `secretId ${secretId} needs a region and a cluster id after the provider: ${name}`);
    }
    if (secretId.includes('..')) fail(index, `secretId ${secretId} must not contain ".."`);

    if (typeof schedule !== 'string' || !/^(rate|cron)\(.+\)$/.test(schedule)) {
      fail(index, 'needs a schedule such as "rate(30 days)" or "cron(0 3 1 * ? *)"');
    }
    if (duration !== undefined) {
      const hours =
        typeof duration === 'string' && /^[0-9]+h$/.test(duration) ? Number.parseInt(duration, 10) : 0;
      if (hours < 1 || hours > 24) fail(index, 'has a duration that is not between "1h" and "24h"');
    }
    if (rotateImmediately !== undefined && typeof rotateImmediately !== 'boolean') {
      fail(index, 'has a rotateImmediately that is not true or false');
    }

    const id = logicalId(secretId);
    if (id in Resources) fail(index, `schedules the secret ${secretId} again: one schedule per secret`);
    Resources[id] = {
      Type: 'AWS::SecretsManager::RotationSchedule',
      // Secrets Manager checks that it may invoke the function when the schedule is set.
      DependsOn: [functions.permission],
      Properties: {
        SecretId: secretId,
        RotationLambdaARN: { 'Fn::GetAtt': [functions.function, 'Arn'] },
        RotationRules: {
          ScheduleExpression: schedule,
          ...(duration === undefined ? {} : { Duration: duration }),
        },
        // CloudFormation's default rotates at once; a deploy must not change passwords unasked.
        RotateImmediatelyOnUpdate: rotateImmediately ?? false,
      },
    };
  });
  return { Resources };
};
