import { describe, expect, it } from 'vitest';
import { ncloudError, ncloudErrorCode, ncloudRequestId } from '../../../../lib/providers/ncloud/errors.ts';
import { providerResponse } from '../../../support/provider-response.ts';
import {
  codeEchoes,
  ECHOED_PASSWORD,
  echoVariants,
  passwordEchoes,
  shown,
  TOKEN_PASSWORD,
} from '../../../support/secret-echoes.ts';

const response = providerResponse;

const gateway = (errorCode: unknown, message: string) => ({
  error: { errorCode, message, details: message },
});

describe('Naver Cloud error mapping', () => {
  it.each([
    [400, '100', 'PROVIDER_REJECTED', false],
    [401, '200', 'PROVIDER_AUTH_FAILED', false],
    [401, '210', 'PROVIDER_AUTH_FAILED', false],
    [403, '230', 'PROVIDER_AUTH_FAILED', false],
    [404, '300', 'CLUSTER_NOT_FOUND', false],
    [409, '1001', 'CLUSTER_STATE_CONFLICT', true],
    [429, '400', 'PROVIDER_THROTTLED', true],
    [500, '900', 'PROVIDER_UNAVAILABLE', true],
    [503, '900', 'PROVIDER_UNAVAILABLE', true],
  ])('HTTP %i (errorCode %s) is %s', (status, errorCode, code, retryable) => {
    const error = ncloudError(response(status, gateway(errorCode, 'gateway says no')), []);
    expect(error).toMatchObject({ code, retryable, providerStatus: status, providerCode: errorCode });
    expect(error.message).toBe(`Naver Cloud answered HTTP ${status}: gateway says no`);
  });

  it('treats HTTP 200 with result: null as a refusal', () => {
    const error = ncloudError(
      response(200, { code: 1200, message: 'FAIL', result: null, requestId: 'r-1' }),
      [],
    );
    expect(error).toMatchObject({ code: 'PROVIDER_REJECTED', providerStatus: 200, providerCode: '1200' });
    expect(error.message).toContain('result was not true');
  });

  it.each([
    ['an empty body', response(200, '')],
    ['JSON without result', response(200, { code: 0, message: 'SUCCESS' })],
    ['an HTML page', { ...response(200, ''), text: '<html>ok</html>' }],
  ])('treats HTTP 200 with %s as an unknown outcome (maybe applied), not as a refusal', (_, answer) => {
    const error = ncloudError(answer, []);
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true, providerStatus: 200 });
    expect(error.message).toMatch(
      /^Naver Cloud answered HTTP 200 without a result: the reset may have been applied/,
    );
  });

  it('reads a numeric errorCode and a text/plain body', () => {
    expect(ncloudError(response(401, gateway(200, 'Authentication Failed')), [])).toMatchObject({
      code: 'PROVIDER_AUTH_FAILED',
      providerCode: '200',
    });
    const plain = ncloudError(response(502, 'Bad Gateway', { 'content-type': 'text/plain' }), []);
    expect(plain).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', providerStatus: 502 });
    expect(plain.providerCode).toBeUndefined();
    expect(plain.message).toBe('Naver Cloud answered HTTP 502: Bad Gateway');
  });

  it('keeps the Retry-After of a 429', () => {
    expect(ncloudError(response(429, gateway('400', 'quota'), { 'retry-after': '7' }), [])).toMatchObject({
      code: 'PROVIDER_THROTTLED',
      retryAfterSeconds: 7,
    });
  });

  const secrets = [ECHOED_PASSWORD, TOKEN_PASSWORD, 'sk-123456'];
  const withheld =
    "Naver Cloud answered HTTP 400 (the provider's message was withheld: it echoed request data)";

  it.each(passwordEchoes(ECHOED_PASSWORD))('withholds a message that echoes the password %s', (_, echo) => {
    const error = ncloudError(
      response(400, gateway('100', `invalid kafkaManagerUserPassword ${echo}`)),
      secrets,
    );
    expect(error.message).toBe(withheld);
    expect(error.providerCode).toBe('100');
    expect(echoVariants(ECHOED_PASSWORD).filter((variant) => shown(error).includes(variant))).toEqual([]);
  });

  it('withholds a text/plain body that echoes the secret key, and a refusal on HTTP 200 that echoes the password', () => {
    const plain = ncloudError(
      response(400, `bad key ${encodeURIComponent('sk-123456')}`, { 'content-type': 'text/plain' }),
      secrets,
    );
    expect(plain.message).toBe(withheld);
    const refusal = ncloudError(
      response(200, { code: 1200, message: Buffer.from(ECHOED_PASSWORD).toString('base64'), result: null }),
      secrets,
    );
    expect(refusal.message).toBe(
      "Naver Cloud did not confirm the password reset (result was not true) (the provider's message was withheld: it echoed request data)",
    );
    expect(refusal.providerCode).toBe('1200');
  });

  it.each(codeEchoes)('drops an errorCode that is %s', (_, errorCode) => {
    const error = ncloudError(response(400, gateway(errorCode, 'rejected')), secrets);
    expect(error.providerCode).toBe(undefined);
    expect(error.message).toBe('Naver Cloud answered HTTP 400: rejected');
    expect(shown(error).includes(errorCode)).toBe(false);
    expect(ncloudErrorCode(response(404, gateway(errorCode, 'Not Found')), secrets)).toBe(undefined);
    expect(ncloudErrorCode(response(400, { code: errorCode }), secrets)).toBe(undefined);
  });

  it('keeps a clean message, cut at 300 characters, while dropping an errorCode that echoes the password', () => {
    const error = ncloudError(response(400, gateway(TOKEN_PASSWORD, `quota ${'y'.repeat(500)}`)), secrets);
    expect(error.message).toBe(`Naver Cloud answered HTTP 400: quota ${'y'.repeat(294)}…`);
    expect(error.providerCode).toBe(undefined);
    expect(ncloudErrorCode(response(404, gateway('300', 'Not Found')), secrets)).toBe('300');
  });

  it('takes the request id from the body', () => {
    expect(ncloudRequestId(response(200, { result: true, requestId: '36c9ae11-x' }))).toBe('36c9ae11-x');
  });
});
