import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// deploy/alarms.cjs decides at package time whether a stage may have no alarm topic: only when its
// parameters opt out. Called here as the framework calls it (a resolveVariable per name), and once
// through `serverless print` for the stage `prod`, which serverless.yml does not opt out.

const alarms = createRequire(import.meta.url)('../../deploy/alarms.cjs') as (options: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<{ Resources: Record<string, { Properties: Record<string, unknown> }>; Conditions?: unknown }>;

const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:ops-alarms';

/** What serverless.yml resolves for a stage, with the stage's parameters. */
const resolverFor =
  (stage: string, params: Record<string, unknown>) =>
  async (name: string): Promise<unknown> => {
    if (name.startsWith('param:')) return params[name.slice('param:'.length)];
    const values: Record<string, unknown> = {
      'sls:stage': stage,
      'self:service': 'cluster-password-reset',
      'self:provider.environment.POWERTOOLS_METRICS_NAMESPACE': 'ClusterPasswordReset',
      'self:provider.environment.POWERTOOLS_SERVICE_NAME': 'cluster-password-reset',
      'self:stepFunctions.stateMachines.fleetRotation.name': `cluster-password-reset-${stage}-fleet-rotation`,
    };
    if (!(name in values)) throw new Error(`unexpected variable ${name}`);
    return values[name];
  };

const actionsOf = async (stage: string, params: Record<string, unknown>) => {
  const { Resources, Conditions } = await alarms({ resolveVariable: resolverFor(stage, params) });
  expect(Conditions).toBeUndefined();
  return Object.values(Resources).map((alarm) => [alarm.Properties.AlarmActions, alarm.Properties.OKActions]);
};

describe('the alarm topic of a stage (deploy/alarms.cjs)', () => {
  it.each([
    ['prod', { alarmTopicArn: '' }],
    ['prd-eu', { alarmTopicArn: '', alarmTopicOptOut: false }],
    ['main', { alarmTopicOptOut: 'false' }],
    ['anything', {}],
  ])('refuses stage %s without a topic and without an opt-out %j', async (stage, params) => {
    await expect(alarms({ resolveVariable: resolverFor(stage, params) })).rejects.toThrow(
      `Stage ${stage} has no alarmTopicArn: its alarms would notify nobody`,
    );
  });

  it.each([
    [true, 'a boolean, as in serverless.yml'],
    ['true', 'a string, as from --param alarmTopicOptOut=true'],
  ] as Array<[boolean | string, string]>)(
    'lets a stage opt out explicitly (%j: %s); its alarms then have no actions at all',
    async (optOut, _how) => {
      const actions = await actionsOf('sandbox', { alarmTopicArn: '', alarmTopicOptOut: optOut });
      expect(actions).toHaveLength(11);
      for (const pair of actions) expect(pair).toEqual([undefined, undefined]);
    },
  );

  it('notifies the topic from every alarm, on alarm and back to OK, with or without an opt-out', async () => {
    for (const params of [{ alarmTopicArn: TOPIC }, { alarmTopicArn: TOPIC, alarmTopicOptOut: true }]) {
      const actions = await actionsOf('prod', params);
      expect(actions).toHaveLength(11);
      for (const pair of actions) expect(pair).toEqual([[TOPIC], [TOPIC]]);
    }
  });

  it.each([
    [{ alarmTopicArn: 'ops-alarms' }, 'alarmTopicArn must be empty or an SNS topic ARN'],
    [{ alarmTopicArn: '', alarmTopicOptOut: 'yes' }, 'alarmTopicOptOut must be true or false'],
  ])('refuses %j', async (params, problem) => {
    await expect(alarms({ resolveVariable: resolverFor('prod', params) })).rejects.toThrow(problem);
  });

  it('stops `serverless print --stage prod` without a topic, and names the two ways out', async () => {
    const run = promisify(execFile);
    const failure = await run('serverless', ['print', '--stage', 'prod', '--region', 'eu-central-1'], {
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      timeout: 120_000,
    }).then(
      () => undefined,
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    expect(failure).toContain('Stage prod has no alarmTopicArn');
    expect(failure).toContain('--param alarmTopicArn=');
    expect(failure).toContain('--param alarmTopicOptOut=true');
  }, 120_000);
});
