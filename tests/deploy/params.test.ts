import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// Every list or map stage parameter takes JSON on the command line (`--param name=[…]`), through
// one reader (deploy/params.cjs), and a bad value is refused at package time naming the parameter.

const require = createRequire(import.meta.url);
type Generator = (options: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<any>;
const { listParam, mapParam } = require('../../deploy/params.cjs') as {
  listParam: (name: string, value: unknown, options: { what?: string; example: string }) => unknown[];
  mapParam: (name: string, value: unknown, options: { what?: string; example: string }) => object;
};
const schedules = require('../../deploy/schedules.cjs') as Generator;
const rotationSchedules = require('../../deploy/rotation-schedules.cjs') as Generator;
const requestBusPolicy = require('../../deploy/request-bus-policy.cjs') as Generator;
const hardening = require('../../deploy/hardening.cjs') as Record<string, Generator>;

const PREFIX = 'cluster-password-reset/ci';
const OTC_CLUSTER = '4f3deec3-efa8-4598-bf91-560aad1377a3';
const SENDER = 'arn:aws:iam::111122223333:role/ops-rotation';

/** A resolveVariable that answers the given params and the stage's fixed values. */
const params = (given: Record<string, unknown>): Generator extends (o: infer O) => unknown ? O : never =>
  ({
    resolveVariable: async (name: string) => {
      if (name.startsWith('param:') && name.slice(6) in given) return given[name.slice(6)];
      return (
        {
          'param:secretPrefix': PREFIX,
          'param:apiEndpointType': 'REGIONAL',
          'self:service': 'cluster-password-reset',
          'sls:stage': 'ci',
        } as Record<string, unknown>
      )[name];
    },
  }) as never;

describe('the one reader of list and map parameters', () => {
  const options = { example: '["x"]' };

  it('takes a YAML list as it is, a JSON string parsed, and nothing as empty', () => {
    expect(listParam('things', ['a', 'b'], options)).toEqual(['a', 'b']);
    expect(listParam('things', '["a", {"b": 1}]', options)).toEqual(['a', { b: 1 }]);
    for (const none of [undefined, null, '', '  ', 'null'])
      expect(listParam('things', none, options)).toEqual([]);
    expect(mapParam('tags', '{"a":"1"}', { example: '{}' })).toEqual({ a: '1' });
    expect(mapParam('tags', undefined, { example: '{}' })).toEqual({});
  });

  it('names the parameter and where the JSON broke, and shows the command-line form', () => {
    expect(() => listParam('things', '[{"a": 1},', options)).toThrow(
      /^things is not valid JSON \(Unexpected end of JSON input\); on the command line give it as JSON, e\.g\. --param 'things=\["x"\]'$/,
    );
    expect(() => listParam('things', '[1,]', options)).toThrow(
      /^things is not valid JSON \(Unexpected token '\]'/,
    );
  });

  it.each([
    ['a map', { a: 1 }],
    ['a JSON map', '{"a": 1}'],
    ['a number', '42'],
    ['a quoted string', '"a"'],
  ])('refuses %s where a list is expected', (_kind, value) => {
    expect(() => listParam('things', value, { what: 'a list of things', example: '["x"]' })).toThrow(
      `things must be a list of things, e.g. --param 'things=["x"]'`,
    );
  });

  it('refuses a list where a map is expected', () => {
    expect(() => mapParam('tags', '["a"]', { example: '{"a":"1"}' })).toThrow('tags must be a map');
  });
});

describe('each list parameter from the command line', () => {
  it('scheduledRotations: a JSON list gives the same resources as the YAML list', async () => {
    const list = [
      { schedule: 'rate(30 days)', target: { provider: 'otc-css', region: 'eu-de', clusterId: OTC_CLUSTER } },
    ];
    const fromJson = await schedules(params({ scheduledRotations: JSON.stringify(list) }));
    expect(fromJson).toEqual(await schedules(params({ scheduledRotations: list })));
    expect(Object.keys(fromJson.Resources)).toEqual([
      'ScheduledRotation0Rule',
      'ScheduledRotation0Permission',
    ]);
  });

  it('rotationSchedules: a JSON list gives the same resources as the YAML list', async () => {
    const list = [{ secretId: `${PREFIX}/otc-css/eu-de/${OTC_CLUSTER}`, schedule: 'rate(30 days)' }];
    const fromJson = await rotationSchedules(params({ rotationSchedules: JSON.stringify(list) }));
    expect(fromJson).toEqual(await rotationSchedules(params({ rotationSchedules: list })));
    expect(Object.values(fromJson.Resources)).toHaveLength(1);
  });

  it('requestSenders: a JSON list, a YAML list and the comma-separated form agree', async () => {
    const other = 'arn:aws:iam::444455556666:root';
    const fromJson = await requestBusPolicy(params({ requestSenders: JSON.stringify([SENDER, other]) }));
    expect(fromJson).toEqual(await requestBusPolicy(params({ requestSenders: [SENDER, other] })));
    expect(fromJson).toEqual(await requestBusPolicy(params({ requestSenders: `${SENDER}, ${other}` })));
    expect(fromJson.Statement[0].Principal).toEqual({ AWS: [SENDER, other] });
  });

  it('apiResourcePolicy and stackTags read JSON through the same reader', async () => {
    const statement = {
      Effect: 'Deny',
      Principal: '*',
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
    };
    expect(
      await hardening.apiResourcePolicy?.(params({ apiResourcePolicy: JSON.stringify([statement]) })),
    ).toEqual([statement]);
    expect(await hardening.stackTags?.(params({ stackTags: '{"cost-center":"1234"}' }))).toMatchObject({
      'cost-center': '1234',
    });
  });

  it.each([
    ['scheduledRotations', schedules],
    ['rotationSchedules', rotationSchedules],
    ['requestSenders', requestBusPolicy],
    ['apiResourcePolicy', hardening.apiResourcePolicy as Generator],
  ])('%s: broken JSON is refused at package time, naming the parameter', async (name, generate) => {
    await expect(generate(params({ [name]: '[{"secretId": "x",]' }))).rejects.toThrow(
      new RegExp(
        `^${name} is not valid JSON \\(.*\\); on the command line give it as JSON, e\\.g\\. --param '${name}=\\[`,
      ),
    );
  });

  it.each([
    ['scheduledRotations', schedules, 'a list of { schedule, target }'],
    [
      'rotationSchedules',
      rotationSchedules,
      'a list of { secretId, schedule, duration?, rotateImmediately? }',
    ],
    ['requestSenders', requestBusPolicy, 'a list of IAM principal ARNs'],
  ])('%s: a JSON value that is not a list is refused, naming the parameter', async (name, generate, what) => {
    await expect(generate(params({ [name]: { schedule: 'rate(1 day)' } }))).rejects.toThrow(
      `${name} must be ${what}, e.g. --param '${name}=[`,
    );
  });
});
