import { afterEach, describe, expect, it, vi } from 'vitest';
import { ERROR_CODES, type ErrorCode, ResetError, validationFailed } from '../../../lib/errors.ts';
import { logger } from '../../../lib/logger.ts';
import { attemptOutcome, type InvocationMode, invocationMode } from '../../../lib/middleware/invocation.ts';
import { normalizeEvent } from '../../../lib/middleware/normalize-event.ts';
import { normalizeResponse, stackFrames } from '../../../lib/middleware/normalize-response.ts';
import type { SuccessResult } from '../../../lib/result.ts';
import { replayOf } from '../../../lib/rotation/replay.ts';
import { given, runChain } from '../../support/chain.ts';
import { ncloudHttpEvent } from '../../support/events.ts';
import { trackSecret } from '../../support/leak-scan.ts';

const OPTIONS = { provider: 'ncloud-cdss', operation: 'reset-cmak-password' } as const;

const ENVELOPE = {
  region: 'KR',
  clusterId: '1',
  account: 'default',
  storePassword: true,
  dryRun: false,
  idempotencyKey: 'k',
};

/** A validated request in `mode` whose operation throws `error`. */
const failWith = async (mode: InvocationMode, error: unknown) =>
  runChain([normalizeResponse(OPTIONS), given({ mode, envelope: ENVELOPE })], {}, async () => {
    throw error;
  });

describe('normalize-response', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('answers %s over HTTP with its status', async (code) => {
    const { response } = await failWith('http', new ResetError(code, 'what happened'));
    const { statusCode, body } = response as { statusCode: number; body: string };
    expect(statusCode).toBe(ERROR_CODES[code].httpStatus);
    expect(JSON.parse(body)).toMatchObject({
      ok: false,
      provider: 'ncloud-cdss',
      operation: 'reset-cmak-password',
      region: 'KR',
      clusterId: '1',
      idempotencyKey: 'k',
      error: { code, message: 'what happened', retryable: ERROR_CODES[code].retryable },
    });
  });

  it('answers a raw HTTP event that failed before normalization as HTTP too', async () => {
    const { response } = await runChain(
      [invocationMode(), normalizeResponse(OPTIONS)],
      ncloudHttpEvent('KR', '1'),
      async () => {
        throw new ResetError('VALIDATION_FAILED', 'bad');
      },
    );
    expect((response as { statusCode: number }).statusCode).toBe(400);
  });

  it('lets no field of a direct payload choose the shape of the answer', async () => {
    const { response, error } = await runChain(
      [invocationMode(), normalizeResponse(OPTIONS)],
      { mode: 'http', input: {} },
      async () => {
        throw new ResetError('VALIDATION_FAILED', 'bad');
      },
    );
    expect(response).toBeUndefined();
    expect(error?.name).toBe('ValidationFailed');
  });

  it('throws an error named after the code, without a stack, for Step Functions', async () => {
    const request = await failWith('direct', new ResetError('PROVIDER_THROTTLED', 'slow down'));
    expect(request.response).toBeUndefined();
    const thrown = request.error as Error;
    expect(thrown.name).toBe('ProviderThrottled');
    expect(thrown.message).toBe('slow down');
    expect(thrown.stack).toBe('ProviderThrottled: slow down');
  });

  it('answers, rather than throws, an EventBridge request refused for carrying a password: no retry, no dead-letter copy', async () => {
    const refused = validationFailed([{ field: 'password', rule: 'must be a string' }]);
    const request = await failWith('eventbridge', refused);
    expect(request.error).toBeUndefined();
    expect(request.response).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
  });

  it('answers an EventBridge request that breaks any rule of the envelope: a retry would fail the same way', async () => {
    const misspelt = validationFailed([{ field: 'clusterID', rule: 'is not a field of this request' }]);
    const request = await failWith('eventbridge', misspelt);
    expect(request.error).toBeUndefined();
    expect(request.response).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', retryable: false, fields: [{ field: 'clusterID' }] },
    });
    // Its other failures are thrown: Lambda retries them, then keeps the event for an operator.
    for (const error of [
      new ResetError('PROVIDER_UNAVAILABLE', 'down'),
      new ResetError('CREDENTIALS_UNAVAILABLE', 'no credentials'),
    ]) {
      expect((await failWith('eventbridge', error)).error?.name).toBe(error.name);
    }
  });

  it('answers, rather than throws, a direct payload refused for carrying a password: Lambda keeps no copy', async () => {
    const refused = validationFailed([
      { field: 'password', rule: 'must not be sent in … a Step Functions input' },
    ]);
    const request = await failWith('direct', refused);
    expect(request.error).toBeUndefined();
    expect(request.response).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', fields: [{ field: 'password' }] },
    });
    // Another refusal of a direct payload is thrown, named for Step Functions' Retry and Catch.
    const other = await failWith('direct', validationFailed([{ field: 'clusterId', rule: 'is required' }]));
    expect(other.error?.name).toBe('ValidationFailed');
  });

  it('answers a direct payload holding a password even when another rule failed first', async () => {
    // The caller rule is checked before the fields: the payload still holds the password.
    const payload = { region: 'KR', clusterId: '1', password: 'Held-in-payload-1!', caller: 'bad caller' };
    trackSecret(payload.password);
    const run = await runChain([normalizeResponse(OPTIONS), given({ mode: 'direct' })], payload, async () => {
      throw validationFailed([{ field: 'caller', rule: 'must be 1-512 letters' }]);
    });
    expect(run.error).toBeUndefined();
    expect(run.response).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(JSON.stringify(run.response)).not.toContain(payload.password);
  });

  it('hides an unexpected error behind INTERNAL with the request id', async () => {
    const request = await failWith('http', new TypeError('secret detail from deep inside'));
    const body = JSON.parse((request.response as { body: string }).body);
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.message).toBe(`Internal error; see the function's logs for request ${body.requestId}`);
    expect(JSON.stringify(body)).not.toContain('secret detail');
  });

  it("logs an unexpected error's name and stack frames, never its message", async () => {
    const errorLog = vi.spyOn(logger, 'error');
    const quoted = 'input-quoted-secret-Pw1!';
    const error = new TypeError(`Cannot read "${quoted}"\n    at fake (injected:1:1)\nsecond line ${quoted}`);
    await failWith('direct', error);
    expect(errorLog).toHaveBeenCalledTimes(1);
    const [message, fields] = errorLog.mock.calls[0] as [
      string,
      { errorName: string; stackFrames: string[] },
    ];
    expect(message).toBe('unexpected error');
    expect(fields.errorName).toBe('TypeError');
    expect(Object.keys(fields)).toEqual(['errorName', 'stackFrames']);
    expect(fields.stackFrames.length).toBeGreaterThan(0);
    for (const frame of fields.stackFrames) expect(frame).toMatch(/^at \S/);
    expect(fields.stackFrames[0]).toContain('normalize-response.test.ts');
    expect(JSON.stringify(fields)).not.toContain(quoted);
    expect(JSON.stringify(fields)).not.toContain('injected');
    errorLog.mockRestore();
  });

  const succeedWith = async (mode: InvocationMode, result: unknown) =>
    (
      await runChain(
        [normalizeResponse(OPTIONS), given({ mode, envelope: ENVELOPE })],
        {},
        async () => result,
      )
    ).response;

  it('wraps a success as HTTP 200 JSON, or passes it through for other modes', async () => {
    const result = { ok: true, provider: 'ncloud-cdss', region: 'KR', clusterId: '1', dryRun: false };
    expect(await succeedWith('http', result)).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify(result),
    });
    expect(await succeedWith('direct', result)).toBe(result);
    expect(await succeedWith('eventbridge', result)).toBe(result);
  });
  /** One Secrets Manager rotation step through the real mode and event steps, answered by `handler`. */
  const rotationStep = (Step: string, handler: () => Promise<unknown>) =>
    runChain(
      [
        invocationMode(),
        normalizeResponse(OPTIONS),
        normalizeEvent({ provider: 'ncloud-cdss' }),
        given({ mode: 'rotation', envelope: ENVELOPE }),
      ],
      {
        Step,
        SecretId: 'cluster-password-reset/test/ncloud-cdss/KR/1',
        ClientRequestToken: '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11',
      },
      handler,
    );

  const SUCCESS = { ok: true, provider: 'ncloud-cdss', region: 'KR', clusterId: '1', dryRun: false };

  it.each(['createSecret', 'setSecret', 'testSecret'])(
    'counts the success of the non-final step %s as no attempt, passing it through',
    async (step) => {
      const result = { ...SUCCESS };
      const run = await rotationStep(step, async () => result);
      expect(run.error).toBeUndefined();
      expect(run.response).toBe(result);
      expect(run.internal.notAnAttempt).toBe(true);
      expect(attemptOutcome(run)).toBeUndefined();
    },
  );

  it("counts finishSecret's success as an attempt, unless it is a replay", async () => {
    const run = await rotationStep('finishSecret', async () => ({ ...SUCCESS }));
    expect(run.response).toMatchObject({ ok: true });
    expect(attemptOutcome(run)).toBe(run.internal.outcome);
    const replay = await rotationStep('finishSecret', async () => replayOf({ ...SUCCESS } as SuccessResult));
    expect(attemptOutcome(replay)).toBeUndefined();
  });

  it.each(['createSecret', 'setSecret', 'testSecret', 'finishSecret'])(
    'throws a failed %s as an error named after the code, counted as an attempt',
    async (step) => {
      const run = await rotationStep(step, async () => {
        throw new ResetError('CLUSTER_STATE_CONFLICT', 'busy');
      });
      expect(run.response).toBeUndefined();
      expect(run.error?.name).toBe('ClusterStateConflict');
      expect(run.error?.message).toBe('busy');
      expect(run.error?.stack).toBe('ClusterStateConflict: busy');
      expect(run.internal.outcome).toMatchObject({
        ok: false,
        region: 'KR',
        clusterId: '1',
        error: { code: 'CLUSTER_STATE_CONFLICT' },
      });
      expect(attemptOutcome(run)).toBe(run.internal.outcome);
    },
  );
});

describe('stackFrames', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps the frames of a stack and drops its head, however many lines the message has', () => {
    const error = new Error('one\ntwo\n    at three (looks:1:1)');
    error.stack = [
      'Error: one',
      'two',
      '    at three (looks:1:1)',
      '    at handler (file:///var/task/index.mjs:1:2)',
      '    at async run (node:internal/x:5:6)',
    ].join('\n');
    expect(stackFrames(error)).toEqual([
      'at handler (file:///var/task/index.mjs:1:2)',
      'at async run (node:internal/x:5:6)',
    ]);
  });

  it('keeps no line of a stack that is not a frame', () => {
    const error = new RangeError('short');
    error.stack = 'RangeError: short\n    at f (a.js:1:1)\nnot a frame\n    at g (b.js:2:2)';
    expect(stackFrames(error)).toEqual(['at f (a.js:1:1)', 'at g (b.js:2:2)']);
  });

  it.each([undefined, null, 'a thrown string', { stack: 'Error: x\n    at f (a:1:1)' }])(
    'has no frames for %j, which is not an Error',
    (value) => {
      expect(stackFrames(value)).toEqual([]);
    },
  );
});
