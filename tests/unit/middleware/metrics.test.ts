import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import type { InvocationMode } from '../../../lib/middleware/invocation.ts';
import { rotationMetrics, timedProvider } from '../../../lib/middleware/metrics.ts';
import { normalizeResponse } from '../../../lib/middleware/normalize-response.ts';
import type { ProviderClient, ProviderDefinition } from '../../../lib/providers/types.ts';
import type { SuccessResult } from '../../../lib/result.ts';
import { replayOf } from '../../../lib/rotation/replay.ts';
import { given, runChain } from '../../support/chain.ts';
import { lambdaContext } from '../../support/events.ts';

// What the metrics middleware writes to stdout, read back as CloudWatch would: EMF documents.

interface EmfDocument {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: unknown[] }> };
  [key: string]: unknown;
}

const OPTIONS = { provider: 'ncloud-cdss', operation: 'reset-cmak-password' } as const;

const ENVELOPE: Envelope = {
  region: 'KR',
  clusterId: '1009123',
  account: 'default',
  storePassword: true,
  dryRun: false,
  idempotencyKey: 'key-1',
};

const SUCCESS: SuccessResult = {
  ok: true,
  provider: 'ncloud-cdss',
  operation: 'reset-cmak-password',
  region: 'KR',
  clusterId: '1009123',
  dryRun: false,
  password: { source: 'generated', stored: true, secretArn: 'arn:…', versionId: 'v-1' },
  requestId: 'lambda-req-1',
  idempotencyKey: 'key-1',
  completedAt: '2026-11-23T10:00:00.000Z',
};

let written: string[];
/** Powertools' own warnings (an empty flush, a dimension added twice) go to stderr. */
let warned: string[];

beforeEach(() => {
  written = [];
  warned = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
    warned.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(warned).toEqual([]);
});

const emitted = (): EmfDocument[] =>
  written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);

/** Metric name → [dimension sets], and the values, of one EMF document. */
const describeDocument = (doc: EmfDocument) => {
  const [directive] = doc._aws.CloudWatchMetrics;
  return {
    namespace: directive?.Namespace,
    dimensions: directive?.Dimensions,
    metrics: directive?.Metrics,
  };
};

const metrics = () =>
  new Metrics({ namespace: 'ClusterPasswordReset', serviceName: 'cluster-password-reset' });

/** The chain as lib/handler.ts orders it: the metrics' after/onError run once the result is built. */
const chainFor = (mode: InvocationMode, envelope: Envelope | null = ENVELOPE) => [
  rotationMetrics({ provider: 'ncloud-cdss', stage: 'test', metrics: metrics() }),
  normalizeResponse(OPTIONS),
  given(envelope ? { mode, envelope } : { mode }),
];

const succeed = (mode: InvocationMode, result: unknown, envelope?: Envelope) =>
  runChain(chainFor(mode, envelope), {}, async () => result);

const fail = (mode: InvocationMode, error: unknown, envelope?: Envelope | null) =>
  runChain(chainFor(mode, envelope), {}, async () => {
    throw error;
  });

describe('rotation metrics', () => {
  it('counts a real success as RotationSucceeded by service, stage and provider', async () => {
    const run = await succeed('direct', SUCCESS);
    expect(run.response).toBe(SUCCESS);
    const docs = emitted();
    expect(docs).toHaveLength(1);
    const [doc] = docs as [EmfDocument];
    expect(describeDocument(doc)).toEqual({
      namespace: 'ClusterPasswordReset',
      dimensions: [['service', 'stage', 'provider']],
      metrics: [{ Name: 'RotationSucceeded', Unit: 'Count' }],
    });
    expect(doc).toMatchObject({
      service: 'cluster-password-reset',
      stage: 'test',
      provider: 'ncloud-cdss',
      RotationSucceeded: 1,
    });
    expect(doc).not.toHaveProperty('RotationFailed');
  });

  it('counts a failure as RotationFailed by provider, and again by errorCode; the error still thrown', async () => {
    const run = await fail(
      'direct',
      new ResetError('PROVIDER_UNAVAILABLE', 'Naver Cloud could not be reached'),
    );
    expect(run.error?.name).toBe('ProviderUnavailable');
    const docs = emitted();
    expect(docs.map(describeDocument)).toEqual([
      {
        namespace: 'ClusterPasswordReset',
        dimensions: [['service', 'stage', 'provider']],
        metrics: [{ Name: 'RotationFailed', Unit: 'Count' }],
      },
      {
        namespace: 'ClusterPasswordReset',
        dimensions: [['service', 'stage', 'provider', 'errorCode']],
        metrics: [{ Name: 'RotationFailed', Unit: 'Count' }],
      },
      {
        namespace: 'ClusterPasswordReset',
        dimensions: [['service', 'stage', 'provider', 'invocation']],
        metrics: [{ Name: 'RotationFailed', Unit: 'Count' }],
      },
    ]);
    expect(docs[0]).not.toHaveProperty('errorCode');
    expect(docs[1]).toMatchObject({
      service: 'cluster-password-reset',
      stage: 'test',
      provider: 'ncloud-cdss',
      errorCode: 'PROVIDER_UNAVAILABLE',
      RotationFailed: 1,
    });
    expect(docs[2]).toMatchObject({ provider: 'ncloud-cdss', invocation: 'direct', RotationFailed: 1 });
    expect(docs[2]).not.toHaveProperty('errorCode');
  });

  it('flushes when the handler throws an unexpected error (INTERNAL), and in HTTP mode', async () => {
    const thrown = await fail('direct', new TypeError('boom'));
    expect(thrown.error?.name).toBe('InternalError');
    const http = await fail('http', new ResetError('CLUSTER_STATE_CONFLICT', 'cluster is busy'));
    expect((http.response as { statusCode: number }).statusCode).toBe(409);
    expect(emitted().map((doc) => [doc.errorCode, doc.invocation, doc.RotationFailed])).toEqual([
      [undefined, undefined, 1],
      ['INTERNAL', undefined, 1],
      [undefined, 'direct', 1],
      [undefined, undefined, 1],
      ['CLUSTER_STATE_CONFLICT', undefined, 1],
      [undefined, 'http', 1],
    ]);
    // Nothing but the EMF documents: no warning from Powertools.
    expect(written.join('').trim().split('\n')).toHaveLength(6);
  });

  /** [RotationSucceeded, RotationFailed, errorCode, invocation] of each document emitted. */
  const counted = () =>
    emitted().map((doc) => [doc.RotationSucceeded, doc.RotationFailed, doc.errorCode, doc.invocation]);
  const failureOf = (code: string, invocation: string) => [
    [undefined, 1, undefined, undefined],
    [undefined, 1, code, undefined],
    [undefined, 1, undefined, invocation],
  ];

  it('counts no success for a dry run, but counts its failure', async () => {
    const dry = { ...ENVELOPE, dryRun: true };
    await succeed('direct', { ...SUCCESS, dryRun: true }, dry);
    expect(emitted()).toEqual([]);
    // Nor the "No application metrics to publish" warning Powertools gives an empty flush.
    expect(written.join('')).toBe('');
    await fail('direct', new ResetError('CLUSTER_NOT_FOUND', 'no such cluster'), dry);
    expect(counted()).toEqual(failureOf('CLUSTER_NOT_FOUND', 'direct'));
  });

  it('counts no success for a replay, but every failed invocation: replayed, ROTATION_IN_PROGRESS, refused by validation', async () => {
    await succeed('direct', replayOf({ ...SUCCESS }));
    expect(emitted()).toEqual([]);
    await fail('direct', new ResetError('PROVIDER_REJECTED', 'refused', { replayed: true }));
    await fail('http', new ResetError('ROTATION_IN_PROGRESS', 'another rotation holds the lease'));
    await fail('eventbridge', new ResetError('VALIDATION_FAILED', 'Invalid request'), null);
    expect(counted()).toEqual([
      ...failureOf('PROVIDER_REJECTED', 'direct'),
      ...failureOf('ROTATION_IN_PROGRESS', 'http'),
      ...failureOf('VALIDATION_FAILED', 'eventbridge'),
    ]);
  });

  it('counts a failure that left no result at all as INTERNAL', async () => {
    // A middleware's own failure before normalize-response could build a result (here, it is absent).
    const run = await runChain(
      [
        rotationMetrics({ provider: 'ncloud-cdss', stage: 'test', metrics: metrics() }),
        given({ mode: 'rotation' }),
      ],
      {},
      async () => {
        throw new TypeError('boom');
      },
    );
    expect(run.error).toBeInstanceOf(TypeError);
    expect(counted()).toEqual(failureOf('INTERNAL', 'rotation'));
  });

  it("counts only a Secrets Manager rotation's last step as a success, but every step's failure", async () => {
    const stepChain = (step: 'setSecret' | 'finishSecret') => [
      rotationMetrics({ provider: 'ncloud-cdss', stage: 'test', metrics: metrics() }),
      normalizeResponse(OPTIONS),
      {
        before: (request: { internal: Record<string, unknown> }) => {
          request.internal.rotation = { step, secretId: 's', token: 't' };
        },
      },
      given({ mode: 'rotation', envelope: ENVELOPE }),
    ];
    await runChain(stepChain('setSecret'), {}, async () => ({ ...SUCCESS }));
    expect(emitted()).toEqual([]);
    await runChain(stepChain('finishSecret'), {}, async () => ({ ...SUCCESS }));
    await runChain(stepChain('setSecret'), {}, async () => {
      throw new ResetError('PROVIDER_THROTTLED', 'slow down');
    });
    expect(counted()).toEqual([
      [1, undefined, undefined, undefined],
      ...failureOf('PROVIDER_THROTTLED', 'rotation'),
    ]);
  });
});

describe('provider latency', () => {
  const fakeClient = (reset: ProviderClient['reset']): ProviderClient => ({
    assertReady: async () => ({}),
    prepareReset: () => ({ method: 'POST', url: 'https://example.test', signedHeaders: [] }),
    reset,
    awaitSettled: async () => 'ready',
  });
  const providerWith = (client: ProviderClient) =>
    ({ id: 'ncloud-cdss', createClient: () => client }) as unknown as ProviderDefinition<unknown>;
  const clientOf = (provider: ProviderDefinition<unknown>) =>
    provider.createClient({} as Parameters<ProviderDefinition<unknown>['createClient']>[0]);

  /** A handler that resets through the timed provider, as resetOperation does. */
  const resetting =
    (client: ProviderClient, answer: () => unknown) =>
    async (_event: unknown, context: Context): Promise<unknown> => {
      const timed = clientOf(timedProvider(providerWith(client), context));
      await timed.reset('pw').catch(() => undefined);
      return answer();
    };

  const run = (mode: InvocationMode, handler: (event: unknown, context: Context) => Promise<unknown>) => {
    const context = lambdaContext();
    return runChain(chainFor(mode), {}, (event) => handler(event, context), context);
  };

  it('times each reset sent, beside the outcome, in the document of the provider dimension', async () => {
    const slow = fakeClient(async () => {
      await new Promise((resolve) => setTimeout(resolve, 25));
      return { providerRequestId: 'r-1' };
    });
    await run(
      'direct',
      resetting(slow, () => ({ ...SUCCESS })),
    );
    const docs = emitted();
    expect(docs).toHaveLength(1);
    const [doc] = docs as [EmfDocument];
    expect(describeDocument(doc)).toEqual({
      namespace: 'ClusterPasswordReset',
      dimensions: [['service', 'stage', 'provider']],
      metrics: [
        { Name: 'RotationSucceeded', Unit: 'Count' },
        { Name: 'ProviderLatency', Unit: 'Milliseconds' },
      ],
    });
    expect(doc.ProviderLatency).toBeGreaterThanOrEqual(20);
    expect(doc.ProviderLatency).toBeLessThan(1000);
  });

  it('times a refused or failed reset too, in the document without errorCode', async () => {
    const refusing = fakeClient(async () => {
      throw new ResetError('PROVIDER_UNAVAILABLE', 'timed out');
    });
    const result = await run(
      'direct',
      resetting(refusing, () => {
        throw new ResetError('PROVIDER_UNAVAILABLE', 'timed out');
      }),
    );
    expect(result.error?.name).toBe('ProviderUnavailable');
    expect(emitted().map(describeDocument)).toEqual([
      {
        namespace: 'ClusterPasswordReset',
        dimensions: [['service', 'stage', 'provider']],
        metrics: [
          { Name: 'RotationFailed', Unit: 'Count' },
          { Name: 'ProviderLatency', Unit: 'Milliseconds' },
        ],
      },
      {
        namespace: 'ClusterPasswordReset',
        dimensions: [['service', 'stage', 'provider', 'errorCode']],
        metrics: [{ Name: 'RotationFailed', Unit: 'Count' }],
      },
      {
        namespace: 'ClusterPasswordReset',
        dimensions: [['service', 'stage', 'provider', 'invocation']],
        metrics: [{ Name: 'RotationFailed', Unit: 'Count' }],
      },
    ]);
  });

  it('emits the latency of a reset sent in a step that is not itself counted, once', async () => {
    const fast = fakeClient(async () => ({}));
    const twice = async (_event: unknown, context: Context) => {
      const timed = clientOf(timedProvider(providerWith(fast), context));
      await timed.reset('pw-1');
      await timed.reset('pw-2');
      return { ...SUCCESS, dryRun: true };
    };
    await run('direct', twice);
    const docs = emitted();
    expect(docs).toHaveLength(1);
    expect(docs[0]?.ProviderLatency).toHaveLength(2);
    expect(docs[0]).not.toHaveProperty('RotationSucceeded');
    // The samples went with that invocation: the next one starts empty.
    await succeed('direct', { ...SUCCESS, dryRun: true }, { ...ENVELOPE, dryRun: true });
    expect(emitted()).toHaveLength(1);
  });
});
