import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const generate = createRequire(import.meta.url)('../../deploy/rotation-schedules.cjs') as (options: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<{ Resources: Record<string, any> }>;

const PREFIX = 'cluster-password-reset/ci';

const withSchedules = (schedules: unknown, secretPrefix: unknown = PREFIX) =>
  generate({
    resolveVariable: async (name) => {
      if (name === 'param:rotationSchedules') return schedules;
      if (name === 'param:secretPrefix') return secretPrefix;
      throw new Error(`unexpected variable ${name}`);
    },
  });

const OTC = `${PREFIX}/otc-css/eu-de/4f3deec3-efa8-4598-bf91-560aad1377a3`;

describe('native rotation schedules from stage parameters', () => {
  it('creates no resource for an empty or missing list', async () => {
    expect(await withSchedules([])).toEqual({ Resources: {} });
    expect(await withSchedules(null)).toEqual({ Resources: {} });
  });

  it("creates a rotation schedule with the provider's handler, after its Secrets Manager permission", async () => {
    const { Resources } = await withSchedules([{ secretId: OTC, schedule: 'rate(30 days)', duration: '3h' }]);
    const schedules = Object.values(Resources);
    expect(schedules).toEqual([
      {
        Type: 'AWS::SecretsManager::RotationSchedule',
        DependsOn: ['OtcCssResetAdminPasswordSecretsManagerPermission'],
        Properties: {
          SecretId: OTC,
          RotationLambdaARN: { 'Fn::GetAtt': ['OtcCssResetAdminPasswordLambdaFunction', 'Arn'] },
          RotationRules: { ScheduleExpression: 'rate(30 days)', Duration: '3h' },
          // A deploy does not change the password unless the entry asks for it.
          RotateImmediatelyOnUpdate: false,
        },
      },
    ]);
    expect(Object.keys(Resources)[0]).toMatch(/^SecretRotation[0-9A-F]{16}$/);
  });

  it.each([
    [
      'ncloud-cdss',
      'KR/1009123',
      'NcloudCdssResetCmakPasswordLambdaFunction',
      'NcloudCdssResetCmakPasswordSecretsManagerPermission',
    ],
    [
      'huaweicloud-css',
      'ap-southeast-1/4f3deec3-efa8-4598-bf91-560aad1377a3',
      'HuaweicloudCssResetAdminPasswordLambdaFunction',
      'HuaweicloudCssResetAdminPasswordSecretsManagerPermission',
    ],
  ])(
    'chooses the %s handler from the name, and rotates at once only when asked',
    async (provider, rest, fn, permission) => {
      const secretId = `${PREFIX}/${provider}/${rest}`;
      const { Resources } = await withSchedules([
        { secretId, schedule: 'cron(0 3 1 * ? *)', rotateImmediately: true },
      ]);
      const [schedule] = Object.values(Resources);
      expect(schedule.DependsOn).toEqual([permission]);
      expect(schedule.Properties).toEqual({
        SecretId: secretId,
        RotationLambdaARN: { 'Fn::GetAtt': [fn, 'Arn'] },
        RotationRules: { ScheduleExpression: 'cron(0 3 1 * ? *)' },
        RotateImmediatelyOnUpdate: true,
      });
    },
  );

  it('names each schedule after its secret, so reordering the list replaces none', async () => {
    const other = `${PREFIX}/ncloud-cdss/KR/1009123`;
    const entries = [
      { secretId: OTC, schedule: 'rate(30 days)' },
      { secretId: other, schedule: 'rate(7 days)' },
    ];
    const forwards = (await withSchedules(entries)).Resources;
    const backwards = (await withSchedules([...entries].reverse())).Resources;
    expect(Object.keys(forwards)).toHaveLength(2);
    for (const [id, resource] of Object.entries(forwards)) expect(backwards[id]).toEqual(resource);
  });

  it.each([
    [{ schedule: 'rate(30 days)' }, 'rotationSchedules[0] needs a secretId'],
    [
      { secretId: 'cluster-password-reset/prod/otc-css/eu-de/1', schedule: 'rate(30 days)' },
      'is not the secret name',
    ],
    [
      { secretId: `arn:aws:secretsmanager:eu-central-1:1:secret:${OTC}`, schedule: 'rate(1 day)' },
      'is not the secret name',
    ],
    [{ secretId: `${PREFIX}/aws-rds/eu-de/1`, schedule: 'rate(30 days)' }, 'unknown provider'],
    [{ secretId: `${PREFIX}/otc-css/eu-de`, schedule: 'rate(30 days)' }, 'needs a region and a cluster id'],
    [
      { secretId: `${PREFIX}/otc-css/eu-de/1/2`, schedule: 'rate(30 days)' },
      'needs a region and a cluster id',
    ],
    [{ secretId: `${PREFIX}/otc-css//1`, schedule: 'rate(30 days)' }, 'needs a region and a cluster id'],
    [{ secretId: `${PREFIX}/otc-css/eu-de/*`, schedule: 'rate(30 days)' }, 'needs a region and a cluster id'],
    [{ secretId: `${PREFIX}/otc-css/eu-de/..`, schedule: 'rate(30 days)' }, 'must not contain ".."'],
    [{ secretId: OTC, schedule: 'every month' }, 'needs a schedule'],
    [{ secretId: OTC }, 'needs a schedule'],
    [{ secretId: OTC, schedule: 'rate(30 days)', duration: '0h' }, 'duration'],
    [{ secretId: OTC, schedule: 'rate(30 days)', duration: '25h' }, 'duration'],
    [{ secretId: OTC, schedule: 'rate(30 days)', duration: '3 hours' }, 'duration'],
    [{ secretId: OTC, schedule: 'rate(30 days)', duration: 3 }, 'duration'],
    [{ secretId: OTC, schedule: 'rate(30 days)', rotateImmediately: 'yes' }, 'rotateImmediately'],
    [{ secretId: OTC, schedule: 'rate(30 days)', rotateImmediatly: true }, 'unknown keys rotateImmediatly'],
    ['rate(30 days)', 'must be an object'],
  ])('refuses %j at package time', async (entry, problem) => {
    await expect(withSchedules([entry])).rejects.toThrow(problem);
  });

  it('refuses a second schedule of one secret, naming the entry', async () => {
    await expect(
      withSchedules([
        { secretId: OTC, schedule: 'rate(30 days)' },
        { secretId: OTC, schedule: 'rate(7 days)' },
      ]),
    ).rejects.toThrow('rotationSchedules[1] schedules the secret');
  });

  it('refuses a list that is not one', async () => {
    await expect(withSchedules({ secretId: OTC })).rejects.toThrow('rotationSchedules must be a list');
  });
});
