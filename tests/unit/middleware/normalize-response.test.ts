import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, ResetError } from '../../../lib/errors.ts';
import { type InvocationMode, invocationMode } from '../../../lib/middleware/invocation.ts';
import { normalizeResponse } from '../../../lib/middleware/normalize-response.ts';
import { given, runChain } from '../../support/chain.ts';
import { ncloudHttpEvent } from '../../support/events.ts';

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

  it('hides an unexpected error behind INTERNAL with the request id', async () => {
    const request = await failWith('http', new TypeError('secret detail from deep inside'));
    const body = JSON.parse((request.response as { body: string }).body);
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.message).toBe(`Internal error; see the function's logs for request ${body.requestId}`);
    expect(JSON.stringify(body)).not.toContain('secret detail');
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
});
