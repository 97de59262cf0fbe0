import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const generate = createRequire(import.meta.url)('../../deploy/schedules.cjs') as (options: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<{ Resources: Record<string, any> }>;

const withRotations = (rotations: unknown) => generate({ resolveVariable: async () => rotations });

describe('scheduled rotations from stage parameters', () => {
  it('creates no resource for an empty list', async () => {
    expect(await withRotations([])).toEqual({ Resources: {} });
  });

  it('creates a rule and a permission per entry, with the event id as idempotency key', async () => {
    const target = {
      provider: 'otc-css',
      region: 'eu-de',
      clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    };
    const { Resources } = await withRotations([{ schedule: 'rate(30 days)', target }]);
    expect(Object.keys(Resources)).toEqual(['ScheduledRotation0Rule', 'ScheduledRotation0Permission']);
    const rule = Resources.ScheduledRotation0Rule.Properties;
    expect(rule.ScheduleExpression).toBe('rate(30 days)');
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['OtcCssResetAdminPasswordLambdaFunction', 'Arn'] });
    const { InputPathsMap, InputTemplate } = rule.Targets[0].InputTransformer;
    expect(InputPathsMap).toEqual({ eventId: '$.id' });
    // EventBridge replaces <eventId> with the quoted event id: the result is the envelope plus a key.
    expect(JSON.parse(InputTemplate.replace('<eventId>', '"evt-1"'))).toEqual({
      ...target,
      idempotencyKey: 'evt-1',
    });
    expect(Resources.ScheduledRotation0Permission.Properties).toMatchObject({
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['ScheduledRotation0Rule', 'Arn'] },
    });
  });

  it('runs on the default bus, with no event pattern: no request event can trigger it', async () => {
    const target = { provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' };
    const { Resources } = await withRotations([{ schedule: 'rate(30 days)', target }]);
    const rule = Resources.ScheduledRotation0Rule.Properties;
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.EventPattern).toBeUndefined();
    expect(rule.Targets).toHaveLength(1);
    expect(rule.Targets[0].Input).toBeUndefined();
  });

  it.each([
    ['ncloud-cdss', 'KR', 'NcloudCdssResetCmakPasswordLambdaFunction'],
    ['otc-css', 'eu-de', 'OtcCssResetAdminPasswordLambdaFunction'],
    ['huaweicloud-css', 'ap-southeast-1', 'HuaweicloudCssResetAdminPasswordLambdaFunction'],
  ])("invokes the %s provider's handler", async (provider, region, fn) => {
    const target = { provider, region, clusterId: '1009123' };
    const { Resources } = await withRotations([{ schedule: 'rate(30 days)', target }]);
    expect(Resources.ScheduledRotation0Rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [fn, 'Arn'] });
    expect(Resources.ScheduledRotation0Permission.Properties.FunctionName).toEqual({
      'Fn::GetAtt': [fn, 'Arn'],
    });
  });

  it.each([
    [{ schedule: 'every day', target: { provider: 'otc-css' } }, 'needs a schedule'],
    [{ schedule: 'rate(1 day)', target: { provider: 'aws-rds' } }, 'unknown provider'],
    [{ schedule: 'rate(1 day)', target: { provider: 'toString' } }, 'unknown provider'],
    [{ schedule: 'rate(1 day)', target: { provider: 'otc-css', password: 'x' } }, 'must not hold a password'],
  ])('refuses %j at package time', async (entry, problem) => {
    await expect(withRotations([entry])).rejects.toThrow(problem);
  });
});
