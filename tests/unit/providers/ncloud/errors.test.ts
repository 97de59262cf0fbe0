import { describe, expect, it } from 'vitest';
import { ncloudError, ncloudRequestId } from '../../../../lib/providers/ncloud/errors.ts';
import { providerResponse } from '../../../support/provider-response.ts';

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

  it('cuts the password and the secret key out of the provider message', () => {
    const error = ncloudError(
      response(400, gateway('100', 'password Xy7!secretpw rejected for key sk-123456')),
      ['Xy7!secretpw', 'sk-123456'],
    );
    expect(error.message).not.toContain('Xy7!secretpw');
    expect(error.message).not.toContain('sk-123456');
    expect(error.message).toContain('[REDACTED]');
  });

  it('takes the request id from the body', () => {
    expect(ncloudRequestId(response(200, { result: true, requestId: '36c9ae11-x' }))).toBe('36c9ae11-x');
  });
});
