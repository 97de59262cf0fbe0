import fc from 'fast-check';
import { expect, it } from 'vitest';
import { report, useSuite } from '../integration/suite.ts';
import { eventBridgeEvent, lambdaContext, restApiEvent } from '../support/events.ts';

// Hostile input, generated: every event breaks at least one rule, in one of the three modes. Each
// must end in a 4xx naming the field and the rule (or, outside HTTP, the named error), never reach
// a provider, and never escape as an unhandled exception.

const suite = useSuite();
const RUNS_PER_HANDLER = 10_000;

const VALID: Record<string, { region: string; clusterId: string; path: (r: string, c: string) => string }> = {
  'ncloud-cdss': {
    region: 'KR',
    clusterId: '1009123',
    path: (r, c) => `/ncloud/cdss/${r}/clusters/${c}/cmak-password`,
  },
  'otc-css': {
    region: 'eu-de',
    clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    path: (r, c) => `/otc/css/${r}/clusters/${c}/admin-password`,
  },
};

// Ids as they arrive from attackers: traversal, encoded and double-encoded separators, query and
// fragment injection, white space, control characters, look-alikes, oversize.
const hostileId = fc.oneof(
  fc.constantFrom(
    '../1009123',
    '..%2F..%2Fadmin',
    '%252e%252e%252f',
    '1009123?x=1',
    '1009123#frag',
    '1009123/',
    ' 1009123',
    '1009123\u0000',
    '1009123\n',
    '１００９１２３',
    '4f3deec3-efa8-4598-bf91-560aad1377a3/..',
    '4F3DEEC3-EFA8-4598-BF91-560AAD1377A3',
    '4f3deec3‐efa8‐4598‐bf91‐560aad1377a3',
    '',
    'a'.repeat(100_000),
  ),
  fc.string({ maxLength: 40 }).map((s) => `../${s}`),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => `${s}%2F`),
);

// Values of the wrong type for boolean fields (and, without the strings, for string fields).
const wrongType = fc.oneof(
  fc.integer(),
  fc.constant(null),
  fc.array(fc.nat(), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
  fc.constantFrom('true', 'false', 'yes', '1'),
);
const wrongTypeForString = wrongType.filter((value) => typeof value !== 'string');
const hostileRegion = fc.oneof(
  fc.constantFrom('kr', 'KR ', 'eu-de\u200b', 'ｅｕ-ｄｅ', 'us-east-1', '../KR', 'KR%2F', ''),
  fc.string({ maxLength: 20 }).filter((s) => !['KR', 'SGN', 'JPN', 'eu-de', 'eu-nl', 'eu-ch2'].includes(s)),
);

type Mutation = { field: string; value: unknown };

const mutation = (providerId: string, mode: string): fc.Arbitrary<Mutation> => {
  const otherProvider = providerId === 'ncloud-cdss' ? 'otc-css' : 'ncloud-cdss';
  const otherRegion = providerId === 'ncloud-cdss' ? 'eu-de' : 'JPN';
  const options: fc.Arbitrary<Mutation>[] = [
    hostileId.map((value) => ({ field: 'clusterId', value })),
    hostileRegion.map((value) => ({ field: 'region', value })),
    fc.constant({ field: 'region', value: otherRegion }),
    wrongType.map((value) => ({ field: 'dryRun', value })),
    wrongType.map((value) => ({ field: 'storePassword', value })),
    hostileId
      .filter((value) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value))
      .map((value) => ({ field: 'account', value })),
    fc
      .constantFrom(
        'other/x',
        'cluster-password-reset/../x',
        'arn:aws:secretsmanager:x',
        // Another stage's secret, and the names without a stage: outside this stage's subtree.
        `cluster-password-reset/prod/${providerId}/x`,
        `cluster-password-reset/${providerId}/x`,
      )
      .map((value) => ({ field: 'secretId', value })),
    fc
      .constantFrom('has space', 'a'.repeat(200), 'key\u0000')
      .map((value) => ({ field: 'idempotencyKey', value })),
    fc
      .string({ minLength: 1, maxLength: 12 })
      .filter(
        (key) =>
          ![
            'provider',
            'region',
            'clusterId',
            'projectId',
            'account',
            'password',
            'storePassword',
            'secretId',
            'dryRun',
            'idempotencyKey',
            '__proto__',
            'constructor',
          ].includes(key),
      )
      .map((field) => ({ field, value: 'extra' })),
  ];
  if (mode !== 'http') {
    options.push(fc.constant({ field: 'provider', value: otherProvider }));
    options.push(wrongTypeForString.map((value) => ({ field: 'clusterId', value })));
    // A password never travels in an EventBridge event or a Step Functions input.
    options.push(fc.constant({ field: 'password', value: 'Valid-Pass1!' }));
  } else {
    // Over HTTP a password may come, but only one that meets the provider's rule.
    options.push(
      fc
        .constantFrom(
          'short',
          'no-digits-here!',
          'nospecials123',
          'Ab1!Ab1!Ab1!Ab1!Ab1!Ab1!Ab1!Ab1!Ab1!',
          'Abc 123!x',
          "Abc'123!x",
          'admin',
        )
        .map((value) => ({
          field: 'password',
          value,
        })),
    );
  }
  return fc.oneof(...options);
};

/** An HTTP event whose body itself is broken: not JSON, not an object, the wrong content type, oversize. */
const brokenHttpBody = fc.oneof(
  fc
    .string({ maxLength: 50 })
    .filter((s) => {
      try {
        const parsed = JSON.parse(s);
        return parsed === null || typeof parsed !== 'object' || Array.isArray(parsed);
      } catch {
        return s.length > 0;
      }
    })
    .map((body) => ({ body, contentType: 'application/json' })),
  fc
    .constantFrom('{"dryRun": true', '{"a":1}}', '[]', '"x"', 'null')
    .map((body) => ({ body, contentType: 'application/json' })),
  fc
    .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data')
    .map((contentType) => ({
      body: 'dryRun=true',
      contentType,
    })),
  fc.constant({ body: JSON.stringify({ account: 'x'.repeat(20_000) }), contentType: 'application/json' }),
);

const invocation = (providerId: string) =>
  fc.oneof(
    fc.record({
      mode: fc.constant('http'),
      mutations: fc.array(mutation(providerId, 'http'), { minLength: 1, maxLength: 3 }),
      broken: fc.option(brokenHttpBody, { freq: 4 }),
    }),
    fc.record({
      mode: fc.constant('eventbridge'),
      mutations: fc.array(mutation(providerId, 'eventbridge'), { minLength: 1, maxLength: 3 }),
      broken: fc.constant(null),
    }),
    fc.record({
      mode: fc.constant('direct'),
      mutations: fc.array(mutation(providerId, 'direct'), { minLength: 1, maxLength: 3 }),
      broken: fc.constant(null),
    }),
  );

const buildEvent = (
  providerId: string,
  mode: string,
  mutations: Mutation[],
  broken: { body: string; contentType: string } | null,
) => {
  const valid = VALID[providerId] as (typeof VALID)[string];
  const envelope: Record<string, unknown> = {
    provider: providerId,
    region: valid.region,
    clusterId: valid.clusterId,
  };
  for (const { field, value } of mutations) envelope[field] = value;
  if (mode === 'eventbridge') return eventBridgeEvent(envelope);
  if (mode === 'direct') return envelope;
  const { provider: _, region, clusterId, idempotencyKey, ...body } = envelope;
  const headers: Record<string, string> = { 'Content-Type': broken?.contentType ?? 'application/json' };
  if (typeof idempotencyKey === 'string') headers['Idempotency-Key'] = idempotencyKey;
  return restApiEvent({
    resource: valid.path('{region}', '{clusterId}'),
    path: valid.path(String(region), String(clusterId)),
    pathParameters: {
      region: typeof region === 'string' ? region : JSON.stringify(region),
      clusterId: typeof clusterId === 'string' ? clusterId : JSON.stringify(clusterId),
    },
    body: broken ? broken.body : body,
    headers,
  });
};

it.each([['ncloud-cdss'], ['otc-css']])(
  `%s: ${RUNS_PER_HANDLER.toLocaleString('en')} hostile events get a clear 4xx and reach no provider`,
  async (providerId) => {
    const handler = suite.handler(providerId);
    const providerCalls = () => suite.sandbox.ncloud.calls.length + suite.sandbox.otc.calls.length;
    const callsBefore = providerCalls();
    const counts = { events: 0, http4xx: 0, namedErrors: 0, answeredRefusals: 0, unhandled: 0 };
    await fc.assert(
      fc.asyncProperty(invocation(providerId), async ({ mode, mutations, broken }) => {
        counts.events++;
        const event = buildEvent(providerId, mode, mutations, broken);
        try {
          const answer = (await handler(event, lambdaContext())) as {
            statusCode?: number;
            body?: string;
            ok?: boolean;
            error?: { code: string; fields: Array<{ field: string }> };
          };
          if (mode === 'eventbridge' && answer.ok === false) {
            // A request event refused by validation is answered, not thrown: a retry would fail the
            // same way, and the dead-letter queue would keep it (and any password in it).
            expect(answer.error?.code).toBe('VALIDATION_FAILED');
            expect(answer.error?.fields.length).toBeGreaterThan(0);
            counts.answeredRefusals++;
            return;
          }
          if (mode === 'direct' && answer.ok === false) {
            // A direct payload carrying a password is answered too: Lambda keeps no copy of it.
            expect(answer.error?.code).toBe('VALIDATION_FAILED');
            expect(event !== null && typeof event === 'object' && 'password' in event).toBe(true);
            counts.answeredRefusals++;
            return;
          }
          expect(mode).toBe('http');
          expect(answer.statusCode).toBeGreaterThanOrEqual(400);
          expect(answer.statusCode).toBeLessThan(500);
          const { error } = JSON.parse(answer.body as string);
          expect(['VALIDATION_FAILED', 'PASSWORD_POLICY_VIOLATION']).toContain(error.code);
          expect(error.fields.length).toBeGreaterThan(0);
          for (const issue of error.fields) {
            expect(typeof issue.field).toBe('string');
            expect(issue.rule.length).toBeGreaterThan(3);
          }
          counts.http4xx++;
        } catch (error) {
          if ((error as Error).name === 'AssertionError') throw error;
          if (
            mode === 'http' ||
            !['ValidationFailed', 'PasswordPolicyViolation'].includes((error as Error).name)
          ) {
            counts.unhandled++;
            throw error;
          }
          expect((error as Error).message).toMatch(
            /^(Invalid request: .+ (is|must|may) |The password breaks )/,
          );
          counts.namedErrors++;
        }
      }),
      { numRuns: RUNS_PER_HANDLER },
    );
    const reached = providerCalls() - callsBefore;
    report(
      `fuzz (${providerId}): ${counts.events} events, ${counts.http4xx} HTTP 4xx, ${counts.namedErrors} named errors, ${counts.answeredRefusals} answered refusals, ` +
        `provider calls = ${reached}, unhandled = ${counts.unhandled}`,
    );
    expect(counts.events).toBe(RUNS_PER_HANDLER);
    expect(reached).toBe(0);
    expect(counts.unhandled).toBe(0);
  },
  300_000,
);
